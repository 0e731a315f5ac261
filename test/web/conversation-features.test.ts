import assert from "node:assert/strict";
import { before, describe } from "node:test";
import type { Page } from "playwright-core";
import sharp from "sharp";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, composer, logInThroughUI, messageTexts, screenshot, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * Edit, reply, reactions and mentions in real Chromium, two people in one group: each change is seen live by
 * the other, and again after a reload. The tests run in order and share the conversation.
 */

const skip = browserSkipReason();

/** The message bubble row that contains `text`. */
function messageWith(page: Page, text: string) {
	return page.getByTestId("message-list").getByTestId("message").filter({ hasText: text });
}

async function openGroup(page: Page, name: string): Promise<void> {
	await page
		.getByRole("navigation", { name: "Conversation list" })
		.getByRole("link", { name: new RegExp(`^${name}`) })
		.click();
	await page.getByRole("log", { name: "Conversation history" }).waitFor();
}

async function send(page: Page, text: string): Promise<void> {
	await composer(page).fill(text);
	await page.keyboard.press("Enter");
	await messageWith(page, text).waitFor();
}

/** Open a message's menu (hover shows the toolbar) and choose `item`. */
async function fromMenu(page: Page, text: string, item: string): Promise<void> {
	const row = messageWith(page, text).last();
	await row.hover();
	await row.getByRole("button", { name: "More actions" }).click();
	await row.getByRole("menu", { name: "Message menu" }).getByRole("menuitem", { name: item }).click();
}

function chip(page: Page, text: string, emoji: string) {
	return messageWith(page, text).getByTestId("reaction").filter({ hasText: emoji });
}

describe("conversation features in the browser", { skip, timeout: 240_000 }, () => {
	const web = useWebApp(["alice", "bob"]);
	let alice: UserPage;
	let bob: UserPage;
	let aliceUser: TestUser;
	let bobUser: TestUser;
	let groupId: string;
	const groupName = `Features ${process.pid % 10_000}`;
	/** Requests for emoji data that left our origin (the picker must use the copy in our build). */
	const foreignRequests: string[] = [];

	before(async () => {
		[aliceUser, bobUser] = web.users;
		const a = web.api(aliceUser);
		const b = web.api(bobUser);
		groupId = await web.group(aliceUser, groupName, [bobUser], { type: "group" });
		// The original is far back: more than a page of messages after it, then a reply to it at the end.
		const original = await b.post("/api/messages", { groupId, content: "The original, far back" });
		assert.equal(original.status, 201, JSON.stringify(original.body));
		for (let i = 1; i <= 60; i++) {
			const r = await a.post("/api/messages", { groupId, content: `filler ${i}` });
			assert.equal(r.status, 201);
		}
		const reply = await b.post("/api/messages", { groupId, content: "Answering the old one", replyTo: original.body.id });
		assert.equal(reply.status, 201, JSON.stringify(reply.body));
	});

	web.test("clicking a reply's quote loads the original around its seq and highlights it", async () => {
		alice = await web.open("alice");
		bob = await web.open("bob");
		for (const { page } of [alice, bob])
			page.on("request", r => {
				if (!r.url().startsWith(web.app.url) && /emoji/i.test(r.url())) foreignRequests.push(r.url());
			});
		await logInThroughUI(alice.page, aliceUser.user.username);
		await logInThroughUI(bob.page, bobUser.user.username);
		await openGroup(alice.page, groupName);
		await openGroup(bob.page, groupName);
		const a = alice.page;

		const quote = messageWith(a, "Answering the old one").getByTestId("reply-quote");
		await quote.waitFor();
		assert.match(await quote.innerText(), /The original, far back/);
		// Not loaded: the latest page holds 50 of the 62 messages.
		assert.equal(await a.locator('[data-testid="message"][data-seq="1"]').count(), 0);
		await quote.click();
		const original = a.locator('[data-testid="message"][data-seq="1"]');
		await original.waitFor();
		await until(() => original.evaluate(el => el.classList.contains("highlighted")), Boolean, "the original highlighted");
		await until(() => original.isVisible(), Boolean, "the original in view");
		assert.match(await original.innerText(), /The original, far back/);
		// Everything between the original and what was loaded is there, in order and once.
		const texts = await messageTexts(a);
		const fillers = texts.filter(t => /filler \d+/.test(t)).map(t => Number(/filler (\d+)/.exec(t)![1]));
		assert.deepEqual(
			fillers,
			Array.from({ length: 60 }, (_, i) => i + 1)
		);
		await screenshot(a, "features-01-jump-to-original");

		// A link to a message (what search results use) opens the conversation at it.
		await a.goto(`${web.app.url}/c/${groupId}?at=30`);
		const target = a.locator('[data-testid="message"][data-seq="30"]');
		await target.waitFor();
		await until(() => target.evaluate(el => el.classList.contains("highlighted")), Boolean, "the linked message highlighted");
	});

	web.test("Alice edits a message: Bob sees it live with (edited) and its history", async () => {
		const a = alice.page;
		const b = bob.page;
		await a.goto(`${web.app.url}/c/${groupId}`);
		await a.getByRole("log", { name: "Conversation history" }).waitFor();
		await send(a, "Lunch on Sunday?");
		await messageWith(b, "Lunch on Sunday?").waitFor();

		await fromMenu(a, "Lunch on Sunday?", "Edit");
		await a.getByTestId("composer-intent").getByText("Editing message").waitFor();
		assert.equal(await composer(a).inputValue(), "Lunch on Sunday?");
		// Escape leaves the message as it was; ArrowUp in the empty composer edits the last one again.
		await composer(a).press("Escape");
		await a.getByTestId("composer-intent").waitFor({ state: "hidden" });
		assert.equal(await composer(a).inputValue(), "");
		await composer(a).press("ArrowUp");
		await a.getByTestId("composer-intent").getByText("Editing message").waitFor();
		await composer(a).fill("Lunch on Saturday?");
		await composer(a).press("Enter");
		await a.getByTestId("composer-intent").waitFor({ state: "hidden" });

		const edited = messageWith(b, "Lunch on Saturday?");
		await edited.getByRole("button", { name: "(edited)" }).waitFor();
		assert.equal(await messageWith(b, "Lunch on Sunday?").count(), 0);
		await edited.getByRole("button", { name: "(edited)" }).click();
		const history = b.getByTestId("edit-history");
		await history.getByText("Lunch on Sunday?").waitFor();
		await history.getByText("Lunch on Saturday?").waitFor();
		await screenshot(b, "features-02-edit-history");
		await b.keyboard.press("Escape");
		await history.waitFor({ state: "hidden" });
	});

	web.test("Bob replies to it: Alice sees the quote live", async () => {
		const a = alice.page;
		const b = bob.page;
		await fromMenu(b, "Lunch on Saturday?", "Reply");
		await b
			.getByTestId("composer-intent")
			.getByText(/Replying to/)
			.waitFor();
		await send(b, "Count me in");
		await b.getByTestId("composer-intent").waitFor({ state: "hidden" });
		const reply = messageWith(a, "Count me in");
		await reply.getByTestId("reply-quote").filter({ hasText: "Lunch on Saturday?" }).waitFor();
	});

	web.test("Alice reacts with a quick reaction and from the picker: Bob sees both chips live", async () => {
		const a = alice.page;
		const b = bob.page;
		const row = messageWith(a, "Count me in");
		await row.hover();
		await row.getByRole("button", { name: "React with 👍" }).click();
		await chip(a, "Count me in", "👍").filter({ hasText: "1" }).waitFor();
		assert.equal(await chip(a, "Count me in", "👍").getAttribute("aria-pressed"), "true");
		await chip(b, "Count me in", "👍").waitFor();
		assert.equal(await chip(b, "Count me in", "👍").getAttribute("aria-pressed"), "false");
		assert.match((await chip(b, "Count me in", "👍").getAttribute("aria-label")) ?? "", new RegExp(aliceUser.user.displayName));

		await fromMenu(a, "Count me in", "Add reaction");
		const picker = a.getByTestId("emoji-picker");
		// The picker's own search (inside its shadow root), over the emoji data served by our build.
		await picker.locator("input#search").fill("rocket");
		await picker
			.getByRole("option", { name: /rocket/i })
			.first()
			.click();
		await picker.waitFor({ state: "hidden" });
		await chip(b, "Count me in", "🚀").waitFor();
		await screenshot(b, "features-03-reactions");

		// Bob adds his own 👍 by clicking the chip: two, and his is highlighted.
		await chip(b, "Count me in", "👍").click();
		await chip(a, "Count me in", "👍").filter({ hasText: "2" }).waitFor();
		assert.equal(await chip(b, "Count me in", "👍").getAttribute("aria-pressed"), "true");
		assert.deepEqual(foreignRequests, []);
	});

	web.test("Bob mentions Alice through the autocomplete: she gets an @ badge", async () => {
		const a = alice.page;
		const b = bob.page;
		// Alice is elsewhere (the list), so the mention is unread.
		await a.goto(web.app.url);
		await a.getByRole("navigation", { name: "Conversation list" }).waitFor();

		await composer(b).fill("");
		await composer(b).pressSequentially(`See you there @${aliceUser.user.username.slice(0, 4)}`, { delay: 10 });
		const options = b.getByRole("listbox", { name: "Mention someone" });
		await options.getByRole("option", { name: new RegExp(aliceUser.user.username) }).waitFor();
		await composer(b).press("Enter");
		assert.equal(await composer(b).inputValue(), `See you there @${aliceUser.user.username} `);
		await composer(b).press("Enter");
		await messageWith(b, `@${aliceUser.user.username}`).waitFor();

		const item = a.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${groupName}`) });
		await item.getByTestId("mention-badge").waitFor();
		await screenshot(a, "features-04-mention-badge");
	});

	web.test("after a reload both see the edit, the reply, the reactions and the mention badge", async () => {
		const a = alice.page;
		const b = bob.page;
		await a.reload();
		const item = a.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${groupName}`) });
		await item.getByTestId("mention-badge").waitFor();
		await item.getByTestId("unread-badge").waitFor();
		await b.reload();
		await b.getByRole("log", { name: "Conversation history" }).waitFor();
		await messageWith(b, "Lunch on Saturday?").getByRole("button", { name: "(edited)" }).waitFor();
		await messageWith(b, "Count me in").getByTestId("reply-quote").filter({ hasText: "Lunch on Saturday?" }).waitFor();
		await chip(b, "Count me in", "🚀").waitFor();
		await chip(b, "Count me in", "👍").filter({ hasText: "2" }).waitFor();
		assert.equal(await chip(b, "Count me in", "👍").getAttribute("aria-pressed"), "true");

		// Reading the conversation clears Alice's badge.
		await item.click();
		await a.getByRole("log", { name: "Conversation history" }).waitFor();
		await chip(a, "Count me in", "🚀").waitFor();
		assert.equal(await chip(a, "Count me in", "🚀").getAttribute("aria-pressed"), "true");
		await item.getByTestId("mention-badge").waitFor({ state: "hidden" });
	});

	web.test("the owner sets a group picture: a system line and the picture for Bob; who has seen a message", async () => {
		const a = alice.page;
		const b = bob.page;
		await a.getByRole("button", { name: "Members", exact: true }).click();
		const panel = a.getByRole("complementary", { name: "Members" });
		const png = await sharp({ create: { width: 200, height: 200, channels: 3, background: { r: 220, g: 80, b: 60 } } })
			.png()
			.toBuffer();
		await panel.getByLabel("Group picture").setInputFiles({ name: "group.png", mimeType: "image/png", buffer: png });
		await panel.getByRole("button", { name: "Remove picture" }).waitFor();
		await a.getByRole("button", { name: "Close panel" }).click();

		const line = b.getByTestId("system-line").filter({ hasText: "changed the group picture" });
		await line.waitFor();
		assert.match(await line.innerText(), new RegExp(`${aliceUser.user.displayName} changed the group picture`));
		const listItem = b.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${groupName}`) });
		await until(
			() => listItem.locator("img").count(),
			n => n === 1,
			"the group picture in Bob's list"
		);
		// A system line has no menu and no receipts.
		assert.equal(await line.getByRole("button").count(), 0);

		// Bob reads Alice's edited message: "Seen by 1" opens who has seen it.
		const seenBy = messageWith(a, "Lunch on Saturday?").getByTestId("seen-by");
		await seenBy.click();
		const dialog = a.getByTestId("receipts-dialog");
		await dialog.getByRole("region", { name: "Seen by" }).getByText(bobUser.user.displayName).waitFor();
		await screenshot(a, "features-05-seen-by");
		await a.keyboard.press("Escape");
		await dialog.waitFor({ state: "hidden" });
	});

	web.test("on a phone, swiping a message right replies and a long press opens its menu", async () => {
		const b = bob.page;
		const row = messageWith(b, "Lunch on Saturday?").first();
		const bubble = row.locator(".bubble");
		const box = (await bubble.boundingBox())!;
		const at = (dx: number) => ({ pointerType: "touch", pointerId: 7, isPrimary: true, clientX: box.x + 20 + dx, clientY: box.y + box.height / 2 });
		await bubble.dispatchEvent("pointerdown", at(0));
		for (const dx of [15, 30, 50, 70, 90]) await bubble.dispatchEvent("pointermove", at(dx));
		await bubble.dispatchEvent("pointerup", at(90));
		await b
			.getByTestId("composer-intent")
			.getByText(/Replying to/)
			.waitFor();
		await composer(b).press("Escape");
		await b.getByTestId("composer-intent").waitFor({ state: "hidden" });

		await bubble.dispatchEvent("pointerdown", at(0));
		const menu = row.getByRole("menu", { name: "Message menu" });
		await menu.waitFor();
		await bubble.dispatchEvent("pointerup", at(0));
		// Someone else's message: no Edit.
		const labels = (await menu.getByRole("menuitem").allInnerTexts()).filter(t => /\w/.test(t));
		assert.ok(labels.includes("Reply") && labels.includes("Add reaction"), labels.join());
		assert.ok(!labels.includes("Edit") && !labels.includes("Delete"), labels.join());
		await b.keyboard.press("Escape");
		await menu.waitFor({ state: "hidden" });
	});

	web.test("in a phone-wide window (with a mouse) bubbles keep their width: the hover toolbar takes none of it", async () => {
		const b = bob.page;
		await b.setViewportSize({ width: 390, height: 800 });
		try {
			const bubble = messageWith(b, "Lunch on Saturday?").first().locator(".bubble");
			await bubble.hover();
			const width = (await bubble.boundingBox())!.width;
			assert.ok(width > 120, `bubble is ${width}px wide at a 390px window`);
			assert.ok((await bubble.boundingBox())!.height < 90, "the short message stays on one or two lines");
		} finally {
			await b.setViewportSize({ width: 1280, height: 800 });
		}
	});

	web.test("a direct conversation says when the other was last seen, live", async () => {
		const a = alice.page;
		const direct = await web.api(aliceUser).post("/api/groups", { name: "Direct message", memberIds: [bobUser.user.id], type: "direct" });
		assert.ok(direct.status === 201 || direct.status === 200, JSON.stringify(direct.body));
		await a.goto(`${web.app.url}/c/${direct.body.id}`);
		const header = a.getByRole("region", { name: `Conversation with ${bobUser.user.displayName}` }).locator("header");
		await header.getByText("online", { exact: true }).waitFor();
		await bob.context.close();
		await header.getByText(/^last seen (just now|1 minute ago)$/).waitFor();
	});

	web.test("on the profile page an uploaded avatar is stored and shown, and Remove takes it away", async () => {
		const a = alice.page;
		await a.goto(`${web.app.url}/profile`);
		const png = await sharp({ create: { width: 160, height: 160, channels: 3, background: { r: 40, g: 120, b: 200 } } })
			.png()
			.toBuffer();
		await a.getByLabel("Avatar image").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png });
		const remove = a.getByRole("button", { name: "Remove", exact: true });
		await remove.waitFor();
		const stored = (await web.api(aliceUser).get("/api/users/profile")).body;
		assert.ok(stored.avatarUrl, JSON.stringify(stored));
		await a.locator(`img[src="${stored.avatarUrl}"]`).first().waitFor();

		await remove.click();
		await remove.waitFor({ state: "hidden" });
		assert.equal((await web.api(aliceUser).get("/api/users/profile")).body.avatarUrl, null);
	});
});
