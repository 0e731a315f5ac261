import assert from "node:assert/strict";
import { before, describe } from "node:test";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, logInThroughUI, screenshot, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * Browser notifications in real Chromium: permission granted through the browser context, asked for from
 * the settings; `new Notification(...)` calls recorded by an init script that wraps window.Notification.
 */

const skip = browserSkipReason();

interface Recorded {
	title: string;
	body: string;
	tag: string;
}

/** Runs in the page before the app: every notification the app makes is recorded, and can be clicked. */
const RECORD_NOTIFICATIONS = `(() => {
	const Real = window.Notification;
	const shown = [];
	class Recorded {
		static get permission() { return Real.permission; }
		static requestPermission() { return Real.requestPermission(); }
		constructor(title, options = {}) {
			this.onclick = null;
			shown.push({ title, body: options.body ?? "", tag: options.tag ?? "", instance: this });
		}
		close() {}
	}
	window.Notification = Recorded;
	window.__notifications = shown;
})();`;

describe("browser notifications", { skip, timeout: 180_000 }, () => {
	const web = useWebApp(["alice", "bob"]);
	let alice: UserPage;
	let aliceUser: TestUser;
	let bobUser: TestUser;
	const ids = { design: "", lunch: "", direct: "" };
	const tag = String(process.pid % 10_000);

	const shown = () => alice.page.evaluate<Recorded[]>("window.__notifications.map(({ title, body, tag }) => ({ title, body, tag }))");
	const openIn = async (groupId: string) => {
		await alice.page.locator(`a[data-testid="conversation-item"][href$="/c/${groupId}"]`).click();
		await alice.page.getByRole("log", { name: "Conversation history" }).waitFor();
	};
	const bobSays = async (groupId: string, content: string) => {
		await web.send(bobUser, groupId, content);
	};

	before(async () => {
		[aliceUser, bobUser] = web.users;
		const a = web.api(aliceUser);
		for (const [key, name] of [
			["design", `Design ${tag}`],
			["lunch", `Lunch ${tag}`]
		] as const)
			ids[key] = (await a.post("/api/groups", { name, memberIds: [bobUser.user.id] })).body.id;
		ids.direct = (await a.post("/api/groups", { type: "direct", memberIds: [bobUser.user.id] })).body.id;
		alice = await web.open("alice");
		await alice.context.grantPermissions(["notifications"], { origin: web.app.url });
		await alice.context.addInitScript({ content: RECORD_NOTIFICATIONS });
		await alice.page.reload();
		await logInThroughUI(alice.page, aliceUser.user.username);
	});

	web.test("turned on in the settings, a message in another conversation notifies; a click opens it", async () => {
		const { page } = alice;
		await page.getByRole("link", { name: "Profile" }).click();
		const toggle = page.getByTestId("browser-notifications");
		await toggle.check();
		await until(() => toggle.isChecked(), Boolean, "browser notifications on");
		await page.getByTestId("notification-sound").check();
		await screenshot(page, "notifications-settings");

		// Within the app (a reload would drop the live connection for a moment).
		await page.getByRole("link", { name: "Back to conversations" }).click();
		await openIn(ids.design);
		await until(
			() => web.app.broker.call<string[], object>("presence.activeUsers", { userIds: [aliceUser.user.id] }),
			active => active.length === 1,
			"alice connected and online"
		);
		await bobSays(ids.lunch, "Pizza   at one?\nOr sushi");
		const [first] = await until(shown, list => list.length === 1, "one notification");
		assert.deepEqual(first, { title: `${bobUser.user.displayName} in Lunch ${tag}`, body: "Pizza at one? Or sushi", tag: `conversation:${ids.lunch}` });
		await bobSays(ids.direct, "psst");
		const list = await until(shown, l => l.length === 2, "the direct message's notification");
		assert.deepEqual(list[1], { title: bobUser.user.displayName, body: "psst", tag: `conversation:${ids.direct}` });

		await page.evaluate("window.__notifications[0].instance.onclick()");
		await until(
			() => Promise.resolve(page.url()),
			url => url.endsWith(`/c/${ids.lunch}`),
			"the conversation opened by the click"
		);
	});

	web.test("a muted conversation does not notify, is dimmed in the list and stays out of the title badge", async () => {
		const { page } = alice;
		await openIn(ids.lunch);
		await page.getByTestId("notification-menu").click();
		await page.getByRole("menuitem", { name: "For 8 hours" }).click();
		const lunchItem = page.getByTestId("conversation-item").filter({ hasText: `Lunch ${tag}` });
		await until(
			() => lunchItem.getByTestId("muted-icon").count(),
			n => n === 1,
			"the muted icon"
		);
		assert.equal(await lunchItem.evaluate(el => el.classList.contains("muted")), true);
		const stored = await web.api(aliceUser).get(`/api/groups/${ids.lunch}`);
		assert.equal(stored.body.notifications.level, "all");
		assert.ok(Date.parse(stored.body.notifications.mutedUntil) > Date.now() + 7 * 3600_000);
		await page.getByTestId("notification-menu").click();
		await page.getByTestId("muted-until").waitFor();
		await screenshot(page, "notifications-menu");
		await page.keyboard.press("Escape");

		// In the app (no reload): its header's back link, hidden on wide screens.
		await page.evaluate("document.querySelector('a[aria-label=\"Back to conversations\"]').click()");
		await until(
			() => Promise.resolve(new URL(page.url()).pathname),
			p => p === "/",
			"the conversation list alone"
		);
		const before = (await shown()).length;
		await bobSays(ids.lunch, "still hungry?");
		await bobSays(ids.design, "new mockups are up");
		const after = await until(shown, l => l.length === before + 1, "the design conversation's notification");
		assert.equal(after.at(-1)!.tag, `conversation:${ids.design}`);
		assert.ok(!after.slice(before).some(n => n.tag === `conversation:${ids.lunch}`), "nothing for the muted conversation");
		// Unread: Lunch (muted) 1, Design 1, the direct conversation 1 (never opened): the badge counts 2.
		await until(
			() => page.title(),
			t => t === "(2) Chat",
			"the title badge without the muted conversation"
		);
		await screenshot(page, "notifications-muted");
	});

	web.test("the notifications menu from the keyboard: arrows, Home and End move, Escape and Tab leave it, Enter chooses", async () => {
		const { page } = alice;
		await openIn(ids.design);
		const bell = page.getByTestId("notification-menu");
		const menu = page.getByRole("menu", { name: "Notifications for this conversation" });
		// A string, so the server's type-check (no DOM library) does not read the browser's code.
		const focused = () =>
			page.evaluate<string>(`(() => {
				const el = document.activeElement;
				return el?.getAttribute("data-testid") ?? el?.getAttribute("aria-label") ?? el?.textContent?.trim() ?? "";
			})()`);

		await bell.focus();
		await page.keyboard.press("Enter");
		await menu.waitFor();
		assert.equal(await focused(), "All messages", "the first item takes the focus");
		const walk: string[] = [];
		for (const key of ["ArrowDown", "ArrowDown", "ArrowDown", "End", "ArrowDown", "ArrowUp", "Home", "ArrowUp"]) {
			await page.keyboard.press(key);
			walk.push(await focused());
		}
		assert.deepEqual(walk, [
			"Mentions only",
			"Nothing",
			"For 1 hour",
			"Until I turn it back on",
			"All messages",
			"Until I turn it back on",
			"All messages",
			"Until I turn it back on"
		]);

		await page.keyboard.press("Escape");
		await menu.waitFor({ state: "hidden" });
		assert.equal(await focused(), "notification-menu", "Escape gives the focus back to the bell");

		await page.keyboard.press("Enter");
		await menu.waitFor();
		await page.keyboard.press("Tab");
		await menu.waitFor({ state: "hidden" });
		assert.equal(await focused(), "Members", "Tab closes the menu and goes on past the bell");

		await bell.focus();
		await page.keyboard.press("Enter");
		await page.keyboard.press("ArrowDown");
		await page.keyboard.press("Enter");
		await menu.waitFor({ state: "hidden" });
		await until(
			() => bell.getAttribute("aria-label"),
			label => label === "Notifications: Mentions only",
			"the chosen level on the bell"
		);
		assert.equal(await focused(), "notification-menu", "after a choice the focus is back on the bell");
		assert.equal((await web.api(aliceUser).get(`/api/groups/${ids.design}`)).body.notifications.level, "mentions");

		// A second press of the bell closes the menu it opened.
		await bell.click();
		await menu.waitFor();
		await bell.click();
		await menu.waitFor({ state: "hidden" });
	});
});
