import assert from "node:assert/strict";
import { before, describe } from "node:test";
import type { ConsoleMessage, Page, Request } from "playwright-core";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, logInThroughUI, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * Mark as unread, the "New messages" divider, and the dead ends of the web app, in real Chromium
 * against a real embedded node. The tests run in order and share Bob's browser.
 */

const skip = browserSkipReason();
const tag = String(process.pid % 10_000);
const text = (n: number) => `msg ${String(n).padStart(3, "0")}`;

function conversationItem(page: Page, title: string) {
	const escaped = title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
	return page.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${escaped}(, \\d+ unread)?$`) });
}

const unreadLabel = (page: Page, title: string) => conversationItem(page, title).getAttribute("aria-label");

function messageWith(page: Page, content: string) {
	return page.getByTestId("message-list").getByTestId("message").filter({ hasText: content });
}

/** Whether the element is inside the visible part of the conversation's scroller. */
function inView(page: Page, selector: string): Promise<boolean> {
	// A string, so the server's type-check (no DOM library) does not read the browser's code.
	return page.evaluate(`(() => {
		const el = document.querySelector(${JSON.stringify(selector)});
		const scroller = document.querySelector('[data-testid="message-list"]');
		if (!el || !scroller) return false;
		const box = el.getBoundingClientRect();
		const view = scroller.getBoundingClientRect();
		return box.bottom > view.top && box.top < view.bottom;
	})()`);
}

describe("mark as unread, the unread divider and the app's dead ends", { skip, timeout: 240_000 }, () => {
	const web = useWebApp(["alice", "bob", "carol"]);
	let bob: UserPage;
	let alice: TestUser;
	let bobUser: TestUser;
	let carol: TestUser;
	let groupId: string;
	const groupName = `Unread ${tag}`;

	before(async () => {
		[alice, bobUser, carol] = web.users;
		groupId = await web.group(alice, groupName, [bobUser]);
		// More than one page of history, all of it unread for Bob.
		for (let n = 1; n <= 80; n++) {
			const sent = await web.api(alice).post("/api/messages", { groupId, content: text(n) });
			assert.equal(sent.status, 201);
		}
	});

	const bobGroup = async () => (await web.api(bobUser).get(`/api/groups/${groupId}`)).body;

	web.test("opening a conversation with unread messages shows the divider, and 'Jump to first unread' reaches it", async () => {
		bob = await web.open("bob");
		const b = bob.page;
		await logInThroughUI(b, bobUser.user.username);
		assert.equal(await unreadLabel(b, groupName), `${groupName}, 80 unread`);
		await conversationItem(b, groupName).click();
		await messageWith(b, text(80)).waitFor();

		// The first unread message is older than the first page: the button brings it (and the divider) in.
		const jump = b.getByTestId("jump-to-unread");
		await jump.waitFor();
		await jump.click();
		await b.locator("[data-unread-divider]").waitFor();
		await until(() => inView(b, "[data-unread-divider]"), Boolean, "the divider in view");
		await until(() => inView(b, '[data-seq="1"]'), Boolean, "the first unread message in view");
		await jump.waitFor({ state: "hidden" });

		// Reading moved the cursor, but the divider stays while the conversation is open.
		await until(unreadLabel.bind(null, b, groupName), label => label === groupName, "the list without unread");
		await until(
			async () => (await bobGroup()).readSeq,
			seq => seq === 80,
			"bob's read cursor at the end"
		);
		assert.equal(await b.locator("[data-unread-divider]").count(), 1);
		const dividerNext = await b.locator("[data-unread-divider] + *").getAttribute("data-seq");
		assert.equal(dividerNext, "1");
	});

	web.test("mark as unread: the list shows it unread, the divider moves there, the next visit reads it and the one after has no divider", async () => {
		const b = bob.page;
		const row = messageWith(b, text(70));
		await row.scrollIntoViewIfNeeded();
		await row.hover();
		await row.getByRole("button", { name: "More actions" }).click();
		await row.getByRole("menu", { name: "Message menu" }).getByRole("menuitem", { name: "Mark as unread" }).click();

		await until(unreadLabel.bind(null, b, groupName), label => label === `${groupName}, 11 unread`, "the list showing 11 unread");
		await until(
			() => b.locator("[data-unread-divider] + *").getAttribute("data-seq"),
			seq => seq === "70",
			"the divider above message 70"
		);
		const stored = await bobGroup();
		assert.equal(stored.unreadFrom, 70);
		assert.equal(stored.unreadCount, 11);
		const receipts = (await web.api(alice).get(`/api/messages/${groupId}/receipts`)).body.items;
		assert.equal(receipts.find((r: { userId: string }) => r.userId === bobUser.user.id).readSeq, 80, "receipts others see do not go back");
		// It stays unread while open, even with the window focused.
		await b.waitForTimeout(500);
		assert.equal((await bobGroup()).unreadFrom, 70);

		// Away and back: the divider is at the marked message, and reading clears the marker.
		await b.goto(`${web.app.url}/`);
		await conversationItem(b, groupName).waitFor();
		await conversationItem(b, groupName).click();
		await b.locator("[data-unread-divider]").waitFor();
		assert.equal(await b.locator("[data-unread-divider] + *").getAttribute("data-seq"), "70");
		await until(
			async () => (await bobGroup()).unreadFrom,
			from => from === null,
			"the marker cleared by reading"
		);
		await until(unreadLabel.bind(null, b, groupName), label => label === groupName, "the list without unread");

		await b.goto(`${web.app.url}/c/${groupId}`);
		await messageWith(b, text(80)).waitFor();
		assert.equal(await b.locator("[data-unread-divider]").count(), 0, "no divider once read");
	});

	web.test("a display name change reaches the other user live (timeline and conversation list)", async () => {
		const b = bob.page;
		const direct = await web.api(alice).post("/api/groups", { name: "Direct message", type: "direct", memberIds: [bobUser.user.id] });
		assert.equal(direct.status, 201, JSON.stringify(direct.body));
		await conversationItem(b, alice.user.displayName).waitFor();
		await b.goto(`${web.app.url}/c/${groupId}`);
		await messageWith(b, text(80)).waitFor();

		const renamed = `Alice Renamed ${tag}`;
		const res = await web.api(alice).put("/api/users/profile", { displayName: renamed });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		await conversationItem(b, renamed).waitFor();
		await b.getByTestId("message-list").getByText(renamed).first().waitFor();
		assert.equal(await conversationItem(b, alice.user.displayName).count(), 0);
	});

	web.test("a link to an unknown or someone else's conversation says so; unknown pages get the app's 404", async () => {
		const b = bob.page;
		await b.goto(`${web.app.url}/c/0123456789abcdef01234567`);
		const notice = b.getByTestId("conversation-unavailable");
		await notice.getByRole("heading", { name: "Conversation not found" }).waitFor();
		assert.match(b.url(), /\/c\/0123456789abcdef01234567$/, "no silent redirect");

		const theirs = await web.api(alice).post("/api/groups", { name: `Private ${tag}`, memberIds: [carol.user.id] });
		await b.goto(`${web.app.url}/c/${theirs.body.id}`);
		await notice.getByRole("heading", { name: "Conversation not found" }).waitFor();
		await notice.getByRole("link", { name: "Back to your conversations" }).click();
		await conversationItem(b, groupName).waitFor();

		await b.goto(`${web.app.url}/no/such/page`);
		const error = b.getByTestId("error-page");
		await error.getByRole("heading", { name: "Page not found" }).waitFor();
		assert.equal(await error.getByText("404").count(), 1);
		await error.getByRole("link", { name: "Go to your conversations" }).click();
		await conversationItem(b, groupName).waitFor();
	});

	web.test("Ctrl+K jumps to a conversation, ? lists the shortcuts, and a removal is told", async () => {
		const b = bob.page;
		await b.keyboard.press("Control+k");
		const switcher = b.getByTestId("quick-switcher");
		await switcher.waitFor();
		await b.keyboard.type(`unread ${tag}`);
		await switcher.getByRole("option", { name: groupName }).waitFor();
		await b.keyboard.press("Enter");
		await switcher.waitFor({ state: "hidden" });
		await b.waitForURL(new RegExp(`/c/${groupId}$`));

		await b.getByTestId("message-list").click();
		await b.keyboard.press("?");
		const help = b.getByTestId("shortcuts-help");
		await help.getByText("Jump to a conversation").waitFor();
		await help.getByText("Edit your last message", { exact: false }).waitFor();
		await b.keyboard.press("Escape");
		await help.waitFor({ state: "hidden" });

		// Alice takes Bob out while he is looking at it.
		const removed = await web.api(alice).del(`/api/groups/${groupId}/members/${bobUser.user.id}`);
		assert.equal(removed.status, 200, JSON.stringify(removed.body));
		await b
			.getByTestId("conversation-unavailable")
			.getByRole("heading", { name: `You were removed from ${groupName}` })
			.waitFor();
		assert.equal(await conversationItem(b, groupName).count(), 0);
	});

	web.test("Bob leaves a group himself: back at the list, the group not looked up, a quiet console; Back says he left", async () => {
		const b = bob.page;
		const leftName = `Leaving ${tag}`;
		const leftId = await web.group(alice, leftName, [bobUser]);
		await web.send(alice, leftId, "before Bob leaves");
		await b.goto(`${web.app.url}/c/${leftId}`);
		await messageWith(b, "before Bob leaves").waitFor();

		const noise: string[] = [];
		const lookups: string[] = [];
		const onConsole = (m: ConsoleMessage) => void (["warning", "error"].includes(m.type()) && noise.push(`${m.type()}: ${m.text()}`));
		const onPageError = (err: Error) => void noise.push(`pageerror: ${err.message}`);
		const onRequest = (r: Request) => void (r.method() === "GET" && new URL(r.url()).pathname === `/api/groups/${leftId}` && lookups.push(r.url()));
		b.on("console", onConsole).on("pageerror", onPageError).on("request", onRequest);
		try {
			await b.getByRole("button", { name: "Members" }).click();
			await b.getByRole("button", { name: "Leave group" }).click();
			await b.getByTestId("confirm-dialog").getByRole("button", { name: "Leave" }).click();
			await until(
				() => Promise.resolve(new URL(b.url()).pathname),
				p => p === "/",
				"the conversation list"
			);
			await until(
				() => conversationItem(b, leftName).count(),
				n => n === 0,
				"the group gone from the list"
			);
			// What the page would still do with the group it left (look it up, read its state) happens right away.
			await b.waitForTimeout(500);
			assert.deepEqual(noise, [], "no warning (a Svelte derived_inert) or error in the console");
			assert.deepEqual(lookups, [], "the conversation left is not asked for");
			assert.equal(await b.getByTestId("conversation-unavailable").count(), 0, "no dead end on the way: nothing to tell");

			// Back to it with the browser: it says so, without asking the server.
			await b.goBack();
			await b
				.getByTestId("conversation-unavailable")
				.getByRole("heading", { name: `You left ${leftName}` })
				.waitFor();
			assert.deepEqual(lookups, [], "not asked for after Back either");
			assert.deepEqual(noise, []);
		} finally {
			b.off("console", onConsole).off("pageerror", onPageError).off("request", onRequest);
		}
		const members = (await web.api(alice).get(`/api/groups/${leftId}`)).body.members as { userId: string }[];
		assert.deepEqual(
			members.map(m => m.userId),
			[alice.user.id]
		);
	});
});
