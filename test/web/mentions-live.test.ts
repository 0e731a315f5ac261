import assert from "node:assert/strict";
import { before, describe } from "node:test";
import type { Page } from "playwright-core";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, logInThroughUI, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * The "@" badge of the conversation list follows the mentions of unread messages live: a mention deleted or
 * edited away goes, one edited in comes (the server resolves mentions again on every edit), without a
 * reload. And `@here` is highlighted for the members it reached. Alice writes over REST; Bob watches in
 * Chromium from the list, not reading.
 */

const skip = browserSkipReason();

function conversationItem(page: Page, title: string) {
	const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
	return page.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${escaped}(, \\d+ unread)?$`) });
}

async function mentionBadge(page: Page, title: string): Promise<string> {
	const badge = conversationItem(page, title).getByTestId("mention-badge");
	// A short wait: the badge may go between the two looks (until() then looks again).
	return (await badge.count()) ? ((await badge.getAttribute("aria-label", { timeout: 1000 })) ?? "") : "none";
}

describe("mentions in the browser, live", { skip, timeout: 180_000 }, () => {
	const web = useWebApp(["alice", "bob"]);
	let alice: TestUser;
	let bobUser: TestUser;
	let bob: UserPage;
	let groupId: string;
	const groupName = `Mentions ${process.pid % 10_000}`;
	const atBob = () => `@${bobUser.user.username}`;

	before(async () => {
		[alice, bobUser] = web.users;
		groupId = await web.group(alice, groupName, [bobUser], { type: "group" });
		bob = await web.open("bob");
		await logInThroughUI(bob.page, bobUser.user.username);
		await conversationItem(bob.page, groupName).waitFor();
	});

	const badgeIs = (expected: string, what: string) =>
		until(
			() => mentionBadge(bob.page, groupName),
			b => b === expected,
			what
		);
	const edit = async (id: string, content: string) => assert.equal((await web.api(alice).request("PATCH", `/api/messages/${id}`, { content })).status, 200);
	const remove = async (id: string) => assert.equal((await web.api(alice).del(`/api/messages/${id}`)).status, 200);

	web.test("the badge follows edits and deletes of the last message", async () => {
		const first = await web.send(alice, groupId, `hey ${atBob()} one`);
		await badgeIs("1 mention", "the mention counted");
		await remove(first.id);
		await badgeIs("none", "the deleted mention gone");

		const plain = await web.send(alice, groupId, "plain two");
		await until(
			() => conversationItem(bob.page, groupName).innerText(),
			t => t.includes("plain two"),
			"the message in the list"
		);
		assert.equal(await mentionBadge(bob.page, groupName), "none");
		await edit(plain.id, `plain two ${atBob()}`);
		await badgeIs("1 mention", "the mention edited in");
		await edit(plain.id, "plain two again");
		await badgeIs("none", "the mention edited away");
	});

	web.test("the badge follows edits and deletes of earlier unread messages", async () => {
		const early = await web.send(alice, groupId, `${atBob()} early`);
		const plain = await web.send(alice, groupId, "nothing for bob");
		await web.send(alice, groupId, "the latest");
		await badgeIs("1 mention", "the early mention counted");
		await remove(early.id);
		await badgeIs("none", "the deleted early mention gone");
		await edit(plain.id, `something for ${atBob()} after all`);
		await badgeIs("1 mention", "the mention edited into an earlier message");

		// What the server counts is what the list showed.
		const fromServer = await web.api(bobUser).get(`/api/groups/${groupId}`);
		assert.equal(fromServer.body.mentionCount, 1);
		await bob.page.reload();
		await badgeIs("1 mention", "the same count after a reload");
	});

	web.test("@here is highlighted for Bob, who was online", async () => {
		const sent = await web.send(alice, groupId, "@here standup now");
		assert.deepEqual(sent.mentions, [bobUser.user.id], "the server resolved @here to Bob");
		await conversationItem(bob.page, groupName).click();
		const text = bob.page.getByTestId("message").filter({ hasText: "standup now" }).getByTestId("message-text");
		await text.waitFor();
		const here = text.locator(".mention");
		assert.equal(await here.innerText(), "@here");
		assert.match((await here.getAttribute("class")) ?? "", /\bmention-me\b/);
	});
});
