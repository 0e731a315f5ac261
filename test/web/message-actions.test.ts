import assert from "node:assert/strict";
import { before, describe } from "node:test";
import type { Page } from "playwright-core";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, composer, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * A message's actions from the keyboard, its menu where there is no room below, and where a conversation
 * with unread messages opens, in real Chromium against a real embedded node.
 */

const skip = browserSkipReason();
const tag = String(process.pid % 10_000);

function conversationItem(page: Page, title: string) {
	return page.getByRole("navigation", { name: "Conversation list" }).getByRole("link", { name: new RegExp(`^${title}`) });
}

// Strings, so the server's type-check (no DOM library) does not read the browser's code.

/** What has the focus: its accessible label (else its markup) and the seq of the message it belongs to. */
const focused = (page: Page): Promise<{ label: string | null; seq: string | null }> =>
	page.evaluate(`(() => {
		const el = document.activeElement;
		return { label: el?.getAttribute("aria-label") ?? el?.outerHTML.slice(0, 200) ?? null, seq: el?.closest("[data-seq]")?.getAttribute("data-seq") ?? null };
	})()`);

/** Whether the element is inside the conversation's visible area and is what a click at its centre hits. */
function reachable(page: Page, selector: string): Promise<boolean> {
	return page.evaluate(`(() => {
		const el = document.querySelector(${JSON.stringify(selector)});
		const scroller = document.querySelector('[data-testid="message-list"]');
		if (!el || !scroller) return false;
		const box = el.getBoundingClientRect();
		const view = scroller.getBoundingClientRect();
		if (box.top < view.top || box.bottom > view.bottom) return false;
		const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
		return Boolean(hit && el.contains(hit));
	})()`);
}

function inView(page: Page, selector: string): Promise<boolean> {
	return page.evaluate(`(() => {
		const el = document.querySelector(${JSON.stringify(selector)});
		const view = document.querySelector('[data-testid="message-list"]')?.getBoundingClientRect();
		const box = el?.getBoundingClientRect();
		return Boolean(box && view && box.bottom > view.top && box.top < view.bottom);
	})()`);
}

describe("message actions and where a conversation opens", { skip, timeout: 180_000 }, () => {
	const web = useWebApp(["alice", "bob"]);
	let alice: UserPage;
	let aliceUser: TestUser;
	let bobUser: TestUser;

	before(async () => {
		[aliceUser, bobUser] = web.users;
		alice = await web.signIn("alice", aliceUser);
	});

	web.test(
		"the keyboard reaches a message's More actions; its menu opens upward at the end, the arrows walk it; Escape, and a dialog it opened, return to the button",
		async () => {
			const groupId = await web.group(aliceUser, `Actions ${tag}`, [bobUser]);
			let lastSeq = 0;
			let lastId = "";
			// The last from Bob: Alice's own would end with "Seen by", a tab stop of its own.
			for (let n = 1; n <= 11; n++) ({ seq: lastSeq, id: lastId } = await web.send(n % 2 ? bobUser : aliceUser, groupId, `line ${n}`));
			const { page } = alice;
			await page.goto(`${web.app.url}/c/${groupId}`);
			await page.getByTestId("message").filter({ hasText: "line 11" }).waitFor();

			// Back from the composer: the last message's toolbar is one tab stop, its buttons a roving set.
			await composer(page).focus();
			let at = await focused(page);
			for (let i = 0; i < 6 && at.seq === null; i++) {
				await page.keyboard.press("Shift+Tab");
				at = await focused(page);
			}
			assert.equal(at.seq, String(lastSeq), `the last message's toolbar takes the focus (got ${JSON.stringify(at)})`);
			await page.keyboard.press("End");
			assert.deepEqual(await focused(page), { label: "More actions", seq: String(lastSeq) });
			await page.keyboard.press("ArrowLeft");
			assert.equal((await focused(page)).label, "Reply");
			await page.keyboard.press("ArrowRight");
			assert.equal((await focused(page)).label, "More actions");

			await page.keyboard.press("Enter");
			const menu = page.getByRole("menu", { name: "Message menu" });
			await menu.waitFor();
			// The last item of the last message's menu is on screen and takes the click, not cut off below.
			await until(() => reachable(page, '[role="menu"] [role="menuitem"]:last-child'), Boolean, "the menu's last item reachable");

			// Up and Down walk the menu, wrapping; Home and End reach its ends.
			assert.equal((await focused(page)).label, "React with 👍", "the first item takes the focus");
			await page.keyboard.press("ArrowDown");
			assert.equal((await focused(page)).label, "React with ❤️");
			await page.keyboard.press("End");
			assert.equal(await page.evaluate("document.activeElement.textContent.trim()"), "Delete");
			await page.keyboard.press("ArrowDown");
			assert.equal((await focused(page)).label, "React with 👍");
			await page.keyboard.press("ArrowUp");
			assert.equal(await page.evaluate("document.activeElement.textContent.trim()"), "Delete");
			await page.keyboard.press("Home");
			assert.equal((await focused(page)).label, "React with 👍");

			await page.keyboard.press("Escape");
			await menu.waitFor({ state: "hidden" });
			assert.deepEqual(await focused(page), { label: "More actions", seq: String(lastSeq) }, "focus back on the trigger");

			// Its button toggles it: a second press closes what the first opened.
			const more = page.locator(`[data-seq="${lastSeq}"]`).getByRole("button", { name: "More actions" });
			await more.click();
			await menu.waitFor();
			await more.click();
			await menu.waitFor({ state: "hidden" });

			// A dialog opened from the menu gives the focus back to the menu's button (its item is gone), not to the page.
			await more.focus();
			await page.keyboard.press("Enter");
			await menu.waitFor();
			await page.keyboard.press("End");
			await page.keyboard.press("Enter");
			const confirm = page.getByRole("alertdialog", { name: "Delete message?" });
			await confirm.waitFor();
			await page.keyboard.press("Escape");
			await confirm.waitFor({ state: "hidden" });
			assert.deepEqual(await focused(page), { label: "More actions", seq: String(lastSeq) }, "focus back on the menu's button");

			// The button gone while the dialog was open (Bob deleted his message): the focus goes to the composer.
			await page.keyboard.press("Enter");
			await page.keyboard.press("End");
			await page.keyboard.press("Enter");
			await confirm.waitFor();
			assert.equal((await web.api(bobUser).del(`/api/messages/${lastId}`)).status, 200);
			await page.locator(`[data-seq="${lastSeq}"] .tombstone`).waitFor();
			await page.keyboard.press("Escape");
			await confirm.waitFor({ state: "hidden" });
			assert.equal(await page.evaluate("document.activeElement?.id"), "composer-input", "the composer focused, not the page");

			// Deleting one's own: its buttons go with it, and so the focus goes to the composer too.
			const own = page.locator(`[data-seq="${lastSeq - 1}"]`);
			await own.hover();
			await own.getByRole("button", { name: "More actions" }).click();
			await menu.getByRole("menuitem", { name: "Delete" }).click();
			await confirm.getByRole("button", { name: "Delete" }).click();
			await own.locator(".tombstone").waitFor();
			await until(
				() => page.evaluate("document.activeElement?.id"),
				id => id === "composer-input",
				"the composer focused",
				3_000
			);
		}
	);

	web.test("a conversation whose unread messages fill more than a screen opens at the divider", async () => {
		const groupId = await web.group(aliceUser, `Divider ${tag}`, [bobUser]);
		for (let n = 1; n <= 3; n++) await web.send(aliceUser, groupId, `alice earlier ${n}`);
		for (let n = 1; n <= 8; n++) await web.send(bobUser, groupId, `UNREAD-${n} ` + "lorem ipsum dolor sit amet ".repeat(40));
		const { page } = alice;
		await page.goto(`${web.app.url}/`);
		await conversationItem(page, `Divider ${tag}`).click();
		await page.locator("[data-unread-divider]").waitFor();
		await page.getByTestId("message").filter({ hasText: "UNREAD-8" }).waitFor();
		await page.waitForTimeout(300);
		assert.ok(await inView(page, "[data-unread-divider]"), "the divider in view on open");
		assert.ok(await inView(page, "[data-unread-divider] + *"), "the first unread message in view on open");
		assert.equal(await page.getByTestId("jump-to-unread").count(), 0, "no need to jump");
	});
});
