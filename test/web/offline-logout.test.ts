import assert from "node:assert/strict";
import { describe } from "node:test";
import { client } from "../helpers/app.ts";
import { waitFor } from "../helpers/socket.ts";
import { browserSkipReason, logInThroughUI, PASSWORD } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * Logging out with the network down: the session goes from the browser at once and the sign-in page shows
 * (its code was fetched while online); the server's revocation of the refresh token waits for the network
 * and happens by itself when it is back, so the token cannot be used any more.
 */

const skip = browserSkipReason();

describe("logging out offline", { skip, timeout: 120_000 }, () => {
	const web = useWebApp(["erin", "fran"]);

	web.test("shows the sign-in form offline and revokes the session once back online", async () => {
		// Registered, so the sign-in page was never shown in this tab.
		const { context, page } = await web.open("dora", "/register");
		const pageErrors: string[] = [];
		page.on("pageerror", error => pageErrors.push(error.message));
		await page.getByLabel("Username").fill(`dora${process.pid % 10_000}`);
		await page.getByLabel("Password").fill(PASSWORD);
		await page.getByRole("button", { name: "Register" }).click();
		await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
		const refreshToken = await page.evaluate(() => localStorage.getItem("chat.refreshToken"));
		assert.ok(refreshToken, "the session is kept in the browser");
		// Everything the app fetches when it starts is in: the network goes now.
		await page.waitForLoadState("networkidle");

		await context.setOffline(true);
		await page.getByRole("button", { name: "Log out" }).click();
		await page.getByRole("button", { name: "Log in" }).waitFor();
		assert.equal(await page.getByTestId("error-page").count(), 0, "no error page");
		assert.match(page.url(), /\/login$/);
		const kept = await page.evaluate(() => [localStorage.getItem("chat.refreshToken"), localStorage.getItem("chat.user")]);
		assert.deepEqual(kept, [null, null], "the session left the browser at once");
		assert.deepEqual(pageErrors, []);

		const revoked = page.waitForResponse(r => r.url().endsWith("/api/auth/logout") && r.status() === 200, { timeout: 30_000 });
		await context.setOffline(false);
		await revoked;
		const refresh = await client(web.app).post("/api/auth/refresh", { refreshToken });
		assert.equal(refresh.status, 401, JSON.stringify(refresh.body));
		await page.getByRole("button", { name: "Log in" }).waitFor();
		assert.equal(await page.getByTestId("error-page").count(), 0, "still no error page");
	});

	web.test(
		"changing the password, or signing out of the other devices, keeps this browser's tabs signed in and signs the other device out, saying why",
		async () => {
			const fran = web.users[1];
			// Made with the token of Fran's registration, which the change ends.
			const groupId = await web.group(fran, "After the change", []);
			const laptop = await web.signIn("fran-laptop", fran);
			const phone = await web.signIn("fran-phone", fran);
			await laptop.page.waitForLoadState("networkidle");
			const otherTab = await laptop.context.newPage();
			await otherTab.goto(web.app.url);
			await otherTab.getByRole("navigation", { name: "Conversation list" }).waitFor();

			const { page } = laptop;
			await page.getByRole("link", { name: "Profile" }).click();
			await page.getByLabel("Current password").fill("not the password");
			await page.getByLabel("New password", { exact: true }).fill("an entirely new one");
			await page.getByLabel("New password again").fill("an entirely new one");
			await page.getByRole("button", { name: "Change password" }).click();
			await page.getByText("That is not your current password").waitFor();

			await page.getByLabel("Current password").fill(PASSWORD);
			await page.getByRole("button", { name: "Change password" }).click();
			await page.getByRole("status").filter({ hasText: "Password changed" }).waitFor();

			// The other device: back at the sign-in page, told why.
			await phone.page.getByText("Your password was changed. Sign in with the new one.").waitFor();
			await phone.page.getByRole("button", { name: "Log in" }).waitFor();
			// This browser's tabs stay signed in, with a session that works (a message goes through their sockets).
			await page.getByRole("link", { name: "Back to conversations" }).click();
			for (const tab of [page, otherTab]) {
				await tab.getByRole("navigation", { name: "Conversation list" }).locator(`a[href$="/c/${groupId}"]`).click();
				await tab.locator("#composer-input").waitFor();
			}
			await otherTab.locator("#composer-input").fill("still here");
			await otherTab.keyboard.press("Enter");
			await page.getByTestId("message").filter({ hasText: "still here" }).waitFor();

			// Signed in again on the phone, then signed out of it from the laptop, without a new password.
			await logInThroughUI(phone.page, fran.user.username, "an entirely new one");
			await page.getByRole("link", { name: "Profile" }).click();
			await page.getByRole("button", { name: "Sign out of all other devices" }).click();
			await page
				.getByRole("status")
				.filter({ hasText: /^Other devices were signed out/ })
				.waitFor();
			await phone.page.getByText("You signed out of this device from another one.").waitFor();
			await page.getByRole("link", { name: "Back to conversations" }).click();
			await page.locator(`a[href$="/c/${groupId}"]`).click();
			await page.locator("#composer-input").fill("and still here");
			await page.keyboard.press("Enter");
			await otherTab.getByTestId("message").filter({ hasText: "and still here" }).waitFor();
			const refreshToken = await page.evaluate(() => localStorage.getItem("chat.refreshToken"));
			assert.equal((await client(web.app).post("/api/auth/refresh", { refreshToken })).status, 200, "the stored session is the new one");
		}
	);

	web.test("a page first opened offline shows once the network is back", async () => {
		const { context, page } = await web.signIn("erin", web.users[0]);
		await page.waitForLoadState("networkidle");
		await context.setOffline(true);
		await page.getByRole("link", { name: "Profile" }).click();
		await page.getByTestId("error-page").waitFor();
		await context.setOffline(false);
		await page.getByRole("heading", { name: "Profile" }).waitFor();
		assert.equal(await page.getByTestId("error-page").count(), 0);
	});

	web.test("a refresh whose answer is lost on the way (a reload, a dropped connection) keeps the session", async () => {
		const erin = web.users[0];
		const groupId = await web.group(erin, "Lost answers", []);
		const { page } = await web.signIn("erin-lost", erin);
		await page.waitForLoadState("networkidle");
		const before = await page.evaluate(() => localStorage.getItem("chat.refreshToken"));
		let rotated: string | null = null;
		// The server rotates the token, its answer never reaches the page.
		await page.route(
			"**/api/auth/refresh",
			async route => {
				rotated = ((await (await route.fetch()).json()) as { refreshToken: string }).refreshToken;
				await route.abort("failed");
			},
			{ times: 1 }
		);
		await page.reload();
		await page.getByRole("navigation", { name: "Conversation list" }).locator(`a[href$="/c/${groupId}"]`).click();
		await page.locator("#composer-input").fill("after a lost answer");
		await page.keyboard.press("Enter");
		await page.getByTestId("message").filter({ hasText: "after a lost answer" }).waitFor();
		assert.ok(rotated && rotated !== before, "the lost answer rotated the token");
		// The retry got the lost successor (or, after a later refresh of the page's own, one of its descendants).
		const now = await page.evaluate(() => localStorage.getItem("chat.refreshToken"));
		assert.ok(now && now !== before, "the page holds a new refresh token");
		await waitFor(async () => {
			const history = await client(web.app, erin.accessToken).get(`/api/messages/${groupId}`);
			return history.body.items.some((m: { content: string }) => m.content === "after a lost answer");
		}, "the message was stored");
		await page.reload();
		await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
		assert.match(page.url(), /\/c\//, "still signed in after another reload");
	});

	web.test("logging out in one tab signs this browser's other tabs out, saying why; the user's other devices stay signed in", async () => {
		const erin = web.users[0];
		const laptop = await web.signIn("erin-laptop", erin);
		const phone = await web.signIn("erin-phone", erin);
		await laptop.page.waitForLoadState("networkidle");
		const otherTab = await laptop.context.newPage();
		await otherTab.goto(web.app.url);
		await otherTab.getByRole("navigation", { name: "Conversation list" }).waitFor();

		await laptop.page.getByRole("button", { name: "Log out" }).click();
		await laptop.page.getByRole("button", { name: "Log in" }).waitFor();
		await otherTab.getByText("You signed out in another tab.").waitFor();
		await otherTab.getByRole("button", { name: "Log in" }).waitFor();
		assert.equal(await laptop.page.getByText("You signed out in another tab.").count(), 0, "the tab that signed out says nothing of it");

		await phone.page.reload();
		await phone.page.getByRole("navigation", { name: "Conversation list" }).waitFor();
		assert.equal(await phone.page.getByRole("button", { name: "Log in" }).count(), 0);
	});
});
