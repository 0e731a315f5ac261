import assert from "node:assert/strict";
import { describe } from "node:test";
import type { Page } from "playwright-core";
import sharp from "sharp";
import { announce } from "../../repl-commands/announce.ts";
import { disconnectUser } from "../../repl-commands/kick.ts";
import { registerUser, type TestUser } from "../helpers/app.ts";
import { asOperator } from "../helpers/operator.ts";
import { browserSkipReason, logInThroughUI, PASSWORD, screenshot, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * The web client in real Chromium against a real embedded node. The tests run in order and share
 * the people and conversations the earlier ones created, as one afternoon of chatting would.
 */

const skip = browserSkipReason();
const tag = String(process.pid % 10_000);

/** The texts of the messages in the open conversation, in the order they are shown. */
function messageTexts(page: Page): Promise<string[]> {
	return page.getByTestId("message-list").getByTestId("message").allInnerTexts();
}

function composer(page: Page) {
	return page.getByLabel("Message", { exact: true });
}

async function send(page: Page, text: string): Promise<void> {
	await composer(page).fill(text);
	await page.getByRole("button", { name: "Send" }).click();
	await until(
		() => messageTexts(page),
		texts => texts.some(t => t.includes(text)),
		`"${text}" in the sender's timeline`
	);
}

/** The conversation list entry titled `title` (its name gains ", N unread" while there are some). */
function conversationItem(page: Page, title: string) {
	const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
	return page.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${escaped}(, \\d+ unread)?$`) });
}

/** The ticks on the sender's own message that contains `text`. */
function ticksOf(page: Page, text: string) {
	return page
		.getByTestId("message")
		.filter({ hasText: text })
		.getByRole("img", { name: /^(sent|delivered|seen)$/ });
}

async function openConversation(page: Page, title: string): Promise<void> {
	await conversationItem(page, title).click();
	await page.getByRole("log", { name: "Conversation history" }).waitFor();
}

describe("web client end to end", { skip, timeout: 180_000 }, () => {
	const web = useWebApp([]);
	let alice: UserPage;
	let bob: UserPage;
	let carol: UserPage;
	let carolUser: TestUser;
	const names = { alice: `alice${tag}`, bob: `bob${tag}` };
	const display = { alice: `Alice ${tag}`, bob: `Bob ${tag}` };
	const groupName = `Weekend trip ${tag}`;

	web.test("two people register, start a direct conversation and chat with typing and read ticks", async () => {
		alice = await web.open("alice");
		const a = alice.page;
		await a.getByRole("button", { name: "Log in" }).waitFor();
		await screenshot(a, "01-login");

		// The API's field errors land next to the fields they are about.
		await a.getByRole("link", { name: "Create an account" }).click();
		await a.getByLabel("Username").fill("no spaces!");
		await a.getByLabel("Display name").fill(display.alice);
		await a.getByLabel("Password").fill("short");
		await a.getByRole("button", { name: "Register" }).click();
		await a.locator("#username-error").waitFor();
		// In plain words, not the validator's text.
		assert.equal(await a.locator("#username-error").innerText(), "Use 3 to 32 characters: lowercase letters, digits, and _ . -");
		assert.equal(await a.getByLabel("Username").getAttribute("aria-invalid"), "true");
		await a.locator("#password-error").waitFor();
		assert.equal(await a.locator("#password-error").innerText(), "Use at least 8 characters");
		await screenshot(a, "02-register-field-errors");

		await a.getByLabel("Username").fill(names.alice);
		await a.getByLabel("Password").fill(PASSWORD);
		await a.getByRole("button", { name: "Register" }).click();
		await a.getByRole("navigation", { name: "Conversation list" }).waitFor();

		bob = await web.open("bob", "/register");
		const b = bob.page;
		await b.getByLabel("Username").fill(names.bob);
		await b.getByLabel("Display name").fill(display.bob);
		await b.getByLabel("Password").fill(PASSWORD);
		await b.getByRole("button", { name: "Register" }).click();
		await b.getByRole("navigation", { name: "Conversation list" }).waitFor();

		// Alice finds Bob through the user search and opens a direct conversation.
		await a.getByTestId("new-conversation").click();
		await a.getByLabel("Find a person").fill(names.bob);
		await a
			.getByRole("list", { name: "Search results" })
			.getByRole("button", { name: new RegExp(display.bob) })
			.click();
		await a.waitForURL(/\/c\//);
		await send(a, "Hi Bob, lunch today?");

		// Bob is online but not reading: delivered, not seen.
		await until(
			() => ticksOf(a, "lunch today").getAttribute("aria-label"),
			s => s === "delivered",
			"the delivered tick"
		);
		await conversationItem(b, display.alice).getByTestId("unread-badge").waitFor();

		await openConversation(b, display.alice);
		await until(
			() => messageTexts(b),
			t => t.some(x => x.includes("Hi Bob, lunch today?")),
			"Alice's message at Bob's"
		);
		await until(
			() => ticksOf(a, "lunch today").getAttribute("aria-label"),
			s => s === "seen",
			"the seen tick after Bob reads"
		);

		// Bob types: Alice sees it, and it goes away when he sends.
		await composer(b).pressSequentially("Sure, 12:30", { delay: 20 });
		await a.getByText(`${display.bob} is typing…`).first().waitFor();
		await b.getByRole("button", { name: "Send" }).click();
		await until(
			() => messageTexts(a),
			t => t.some(x => x.includes("Sure, 12:30")),
			"Bob's reply at Alice's"
		);
		await a.getByText(`${display.bob} is typing…`).first().waitFor({ state: "hidden" });
		// Alice is reading, so Bob's reply is seen at once.
		await until(
			() => ticksOf(b, "Sure, 12:30").getAttribute("aria-label"),
			s => s === "seen",
			"Bob's reply seen"
		);

		await screenshot(a, "03-conversation-list-and-chat");
	});

	web.test("a member added to a group live sees it without reloading and gets the next message", async () => {
		const a = alice.page;
		carolUser = await registerUser(web.app, `carol${tag}_`);
		carol = await web.signIn("carol", carolUser);

		await a.getByTestId("new-conversation").click();
		await a.getByRole("tab", { name: "Group" }).click();
		// The limit counts characters as the server does: 100 emoji fit (maxlength stopped at 50), a 101st does not.
		const nameField = a.getByLabel("Group name");
		const limit = a.getByTestId("text-limit");
		await nameField.fill("🎉".repeat(101));
		await limit.filter({ hasText: "1 character over the limit of 100" }).waitFor();
		await nameField.fill("🎉".repeat(100));
		await limit.filter({ hasText: "0 characters left" }).waitFor();
		assert.equal(await nameField.inputValue(), "🎉".repeat(100));
		await nameField.fill(groupName);
		await limit.waitFor({ state: "detached" });
		await a.getByLabel("Add members").fill(names.bob);
		await a
			.getByRole("list", { name: "Search results" })
			.getByRole("button", { name: new RegExp(display.bob) })
			.click();
		await a.getByRole("button", { name: "Create group with 1" }).click();
		// Alice was in the direct conversation: wait until the new group is the one on screen.
		await a.getByRole("region", { name: `Conversation with ${groupName}` }).waitFor();
		await conversationItem(bob.page, groupName).waitFor();
		await send(a, "Who is in for Saturday?");

		await a.getByRole("button", { name: "Members", exact: true }).click();
		const panel = a.getByRole("complementary", { name: "Members" });
		await panel.getByRole("button", { name: "Add members" }).click();
		await panel.getByLabel("Find people to add").fill(carolUser.user.username);
		await panel
			.getByRole("list", { name: "Search results" })
			.getByRole("button", { name: new RegExp(carolUser.user.username) })
			.click();
		await panel.getByRole("button", { name: "Add 1" }).click();
		await panel.getByRole("list", { name: "Member list" }).getByText(carolUser.user.displayName, { exact: true }).waitFor();
		await screenshot(a, "04-group-members-panel");

		// Carol's list shows the group without a reload, and the next message reaches her.
		await conversationItem(carol.page, groupName).waitFor();
		await a.getByRole("button", { name: "Close panel" }).click();
		await send(a, "Carol joins us too");
		await conversationItem(carol.page, groupName).filter({ hasText: "Carol joins us too" }).waitFor();
		await openConversation(carol.page, groupName);
		await until(
			() => messageTexts(carol.page),
			t => t.some(x => x.includes("Carol joins us too")),
			"the message at Carol's"
		);
		await a.getByTestId("seen-by").last().waitFor();
	});

	web.test("an image sent by one is shown as a loaded preview to the other", async () => {
		const a = alice.page;
		const b = bob.page;
		await openConversation(a, display.bob);
		await openConversation(b, display.alice);
		const png = await sharp({ create: { width: 640, height: 400, channels: 3, background: { r: 40, g: 120, b: 220 } } })
			.composite([{ input: Buffer.from('<svg width="640" height="400"><circle cx="320" cy="200" r="150" fill="#ffcc33"/></svg>') }])
			.png()
			.toBuffer();
		await a.locator('input[type="file"]').setInputFiles({ name: "sunny.png", mimeType: "image/png", buffer: png });
		await a.getByRole("list", { name: "Attachments" }).getByText("sunny.png").waitFor();
		await composer(a).fill("The view from here");
		const sendButton = a.getByRole("button", { name: "Send" });
		await until(() => sendButton.isEnabled(), Boolean, "the upload to finish");
		await sendButton.click();

		const image = b.getByTestId("message").filter({ hasText: "The view from here" }).getByRole("img", { name: "sunny.png" });
		await image.waitFor();
		await until(
			() =>
				image.evaluate(
					img => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth
				),
			w => Number(w) > 0,
			"the thumbnail to load"
		);
		await a.getByRole("img", { name: "sunny.png" }).waitFor();
		await screenshot(b, "05-image-message");
	});

	web.test("a reload keeps the session and the history", async () => {
		const b = bob.page;
		const before = await messageTexts(b);
		await b.reload();
		await b.getByRole("navigation", { name: "Conversation list" }).waitFor();
		await until(
			() => messageTexts(b),
			t => t.length === before.length && t.at(-1) === before.at(-1),
			"the same history after reload"
		);
		assert.ok((await messageTexts(b)).some(t => t.includes("Hi Bob, lunch today?")));
		await b.getByRole("img", { name: "sunny.png" }).waitFor();
	});

	web.test("someone offline catches up on what they missed, in order and once", async () => {
		const a = alice.page;
		const b = bob.page;
		const group = (await web.api(carolUser).get("/api/groups")).body.items.find((g: { name: string }) => g.name === groupName);
		assert.ok(group, "Carol's groups include the group");

		await bob.context.setOffline(true);
		await b.getByTestId("connection-banner").waitFor({ timeout: 60_000 });
		await screenshot(b, "09-offline-banner");

		const missed = ["Missed one", "Missed two", "Missed three"];
		for (const text of missed) await send(a, text);
		const rest = await web.api(carolUser).post("/api/messages", { groupId: group.id, content: "Carol via REST while Bob was away" });
		assert.equal(rest.status, 201);

		await bob.context.setOffline(false);
		await b.getByTestId("connection-banner").waitFor({ state: "hidden", timeout: 60_000 });
		const texts = await until(
			() => messageTexts(b),
			t => missed.every(m => t.some(x => x.includes(m))),
			"the missed messages at Bob's",
			30_000
		);
		const positions = missed.map(m => texts.findIndex(x => x.includes(m)));
		assert.deepEqual(
			[...positions].sort((x, y) => x - y),
			positions,
			`missed messages in order: ${JSON.stringify(texts)}`
		);
		for (const m of missed) assert.equal(texts.filter(x => x.includes(m)).length, 1, `"${m}" shown once`);
		// Bob reads them again: the seen tick on Alice's side proves his client caught up for real.
		await until(
			() => ticksOf(a, "Missed three").getAttribute("aria-label"),
			s => s === "seen",
			"seen after Bob is back"
		);
		await conversationItem(b, groupName).filter({ hasText: "Carol via REST" }).waitFor();
		await openConversation(b, groupName);
		await until(
			() => messageTexts(b),
			t => t.filter(x => x.includes("Carol via REST")).length === 1,
			"Carol's REST message once"
		);
	});

	web.test("operators: an announcement shows in the app; a kicked user lands on the sign-in page, told why", async () => {
		const a = alice.page;
		const b = bob.page;
		await a.goto(web.app.url + "/");
		await b.goto(web.app.url + "/");
		await a.getByRole("navigation", { name: "Conversation list" }).waitFor();
		await b.getByRole("navigation", { name: "Conversation list" }).waitFor();
		await until(
			async () => (await announce(asOperator(web.app.broker), `Maintenance at 18:00 ${tag}`)).delivered,
			delivered => delivered >= 2,
			"the announcement reaching both pages' sockets"
		);
		const banner = a.getByTestId("announcement").filter({ hasText: `Maintenance at 18:00 ${tag}` });
		// Announced until both pages had a socket to hear it, so there may be more than one.
		await banner.first().waitFor();
		await screenshot(a, "09-announcement");
		while ((await banner.count()) > 0) await banner.first().getByRole("button", { name: "Dismiss announcement" }).click();

		await disconnectUser(asOperator(web.app.broker), names.bob);
		await b.getByRole("button", { name: "Log in" }).waitFor();
		await b.getByText("You were signed out:").waitFor();
		// The kick revoked the sessions: a reload does not bring Bob back in.
		await b.reload();
		await b.getByRole("button", { name: "Log in" }).waitFor();
		await logInThroughUI(b, names.bob);
		await b.getByRole("navigation", { name: "Conversation list" }).waitFor();
	});

	web.test("screens: dark theme and phone width", async () => {
		const a = alice.page;
		await openConversation(a, display.bob);
		await a.getByRole("button", { name: "Switch to dark theme" }).click();
		await until(
			() => a.evaluate("document.documentElement.dataset.theme"),
			t => t === "dark",
			"the dark theme"
		);
		await screenshot(a, "06-dark-theme");
		await a.getByRole("button", { name: "Switch to light theme" }).click();

		const b = bob.page;
		await b.setViewportSize({ width: 390, height: 844 });
		await b.goto(web.app.url + "/");
		await b.getByRole("navigation", { name: "Conversation list" }).waitFor();
		assert.equal(await b.getByRole("log", { name: "Conversation history" }).count(), 0, "one pane at a time on a phone");
		// A long preview ("… Carol via REST while Bob was away") must end in an ellipsis, not push
		// the list's buttons off a narrow screen.
		const newButton = await b.getByTestId("new-conversation").boundingBox();
		assert.ok(newButton && newButton.x + newButton.width <= 390, `"New conversation" is on screen: ${JSON.stringify(newButton)}`);
		assert.equal(await b.evaluate("document.documentElement.scrollWidth"), 390, "nothing wider than the phone");
		await screenshot(b, "07-phone-conversation-list");
		await openConversation(b, display.alice);
		assert.equal(await b.getByRole("navigation", { name: "Conversation list" }).isVisible(), false, "the list hides behind the open chat");
		await b.getByRole("link", { name: "Back to conversations" }).waitFor();
		await screenshot(b, "08-phone-chat");
	});
});
