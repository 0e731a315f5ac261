import assert from "node:assert/strict";
import { before, describe } from "node:test";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, screenshot, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * Message search in real Chromium: the search box over every conversation (keyboard only), a result's
 * highlighted fragment, sender and conversation, and the jump to the message far back in its history.
 */

const skip = browserSkipReason();

describe("message search in the browser", { skip, timeout: 180_000 }, () => {
	const web = useWebApp(["alice", "bob"]);
	let alice: UserPage;
	let aliceUser: TestUser;
	let bobUser: TestUser;
	let groupId: string;
	let targetSeq: number;
	const groupName = `Search ${process.pid % 10_000}`;

	before(async () => {
		[aliceUser, bobUser] = web.users;
		const b = web.api(bobUser);
		groupId = await web.group(aliceUser, groupName, [bobUser], { type: "group" });
		const target = await b.post("/api/messages", { groupId, content: "The aardvark plan is ready <b>for review</b>" });
		assert.equal(target.status, 201, JSON.stringify(target.body));
		targetSeq = target.body.seq;
		// More than a page of newer messages: the target is not loaded when the conversation opens at its end.
		for (let i = 1; i <= 80; i++) await b.post("/api/messages", { groupId, content: `filler message ${i}` });
		alice = await web.signIn("alice", aliceUser);
	});

	web.test("search from the keyboard, see the marked fragment, open the conversation at that message, highlighted", async () => {
		const { page } = alice;
		await page.keyboard.press("Control+Shift+F");
		const panel = page.getByTestId("search-panel");
		await panel.waitFor();
		await page.keyboard.type("AARDVARK plan");
		const result = panel.getByTestId("search-result");
		await until(
			() => result.count(),
			n => n === 1,
			"one result"
		);
		assert.deepEqual(await result.locator("mark").allInnerTexts(), ["aardvark", "plan"]);
		const text = await result.innerText();
		assert.match(text, /The aardvark plan is ready <b>for review<\/b>/, "markup in a message stays text");
		assert.match(text, new RegExp(`in ${groupName}`));
		assert.equal(await result.locator("b").count(), 0);
		await screenshot(page, "search-results");

		await page.keyboard.press("Enter");
		await until(
			() => Promise.resolve(page.url()),
			url => url.endsWith(`/c/${groupId}?at=${targetSeq}`),
			"the conversation at the message"
		);
		assert.equal(await panel.count(), 0, "the panel closes");
		const target = page.locator(`[data-testid="message"][data-seq="${targetSeq}"]`);
		await target.waitFor();
		await until(() => target.evaluate(el => el.classList.contains("highlighted")), Boolean, "the message highlighted");
		await until(() => target.isVisible(), Boolean, "the message in view");
		await screenshot(page, "search-jump");
	});

	web.test("from a conversation's header the search covers that conversation; no match says so", async () => {
		const { page } = alice;
		await page.getByTestId("search-conversation").click();
		const panel = page.getByTestId("search-panel");
		await panel.waitFor();
		assert.ok(await panel.getByRole("radio", { name: "This conversation" }).isChecked());
		await panel.getByRole("combobox", { name: "Search messages" }).fill("filler 42");
		await until(
			() => panel.getByTestId("search-result").allInnerTexts(),
			t => t.length === 1 && t[0].includes("filler message 42"),
			"the one match"
		);
		await panel.getByRole("combobox", { name: "Search messages" }).fill("nonexistentword");
		await until(
			() => panel.getByTestId("search-status").innerText(),
			t => t.includes("No messages match"),
			"no match"
		);
		await page.keyboard.press("Escape");
		assert.equal(await panel.count(), 0);
	});
});
