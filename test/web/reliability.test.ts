import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe } from "node:test";
import type { Page } from "playwright-core";
import { client, registerUser, type TestUser } from "../helpers/app.ts";
import { browserSkipReason, composer, messageTexts, screenshot, until, type UserPage } from "../helpers/browser.ts";
import { useBrowser } from "../helpers/web-app.ts";
import { freePort, nginxBinary, TestCluster, waitUntil, type NodeProcess } from "../helpers/cluster.ts";

/*
 * The web client when the server goes away and comes back. The server is a real process (npm start's
 * command) behind nginx, which serves the built web app, as in production: so the page can even be
 * reloaded while the server is down. SIGTERM stops it gracefully (server.shutdown, then disconnect);
 * it starts again on the same DATA_DIR and port.
 */

const skip = browserSkipReason() || (!nginxBinary() && process.env.CI !== "true" ? "nginx is not installed" : false);
const UPLOAD_MAX_BYTES = 1024 * 1024;

function banner(page: Page) {
	return page.getByTestId("connection-banner");
}

/** The shown message containing `text`. */
function messageItem(page: Page, text: string) {
	return page.getByTestId("message-list").getByTestId("message").filter({ hasText: text });
}

async function bannerState(page: Page): Promise<string> {
	return (await banner(page).count()) ? ((await banner(page).getAttribute("data-state")) ?? "") : "hidden";
}

function untilBanner(page: Page, states: string[], what: string, timeoutMs = 30_000): Promise<string> {
	return until(
		() => bannerState(page),
		s => states.includes(s),
		what,
		timeoutMs
	);
}

/** Type and send `text` while the server is down: it shows as waiting, not as failed. */
async function sendWhileDown(page: Page, text: string): Promise<void> {
	await composer(page).fill(text);
	await page.getByRole("button", { name: "Send" }).click();
	await messageItem(page, text).getByRole("img", { name: "waiting to send" }).waitFor();
	await messageItem(page, text).getByTestId("unsent-notice").waitFor();
	assert.equal(await page.getByRole("alert").filter({ hasText: "Not sent:" }).count(), 0, "no failure while the server is down");
}

async function openConversation(page: Page, name: string): Promise<void> {
	await page
		.getByRole("navigation", { name: "Conversation list" })
		.getByRole("link", { name: new RegExp(`^${name}(, \\d+ unread)?$`) })
		.click();
	await page.getByRole("region", { name: `Conversation with ${name}` }).waitFor();
	await page.getByRole("log", { name: "Conversation history" }).waitFor();
}

describe("web client through server restarts", { skip, timeout: 300_000 }, () => {
	const cluster = new TestCluster();
	let node: NodeProcess;
	let env: Record<string, string>;
	let url: string;
	const web = useBrowser(() => url);
	let alice: UserPage;
	let aliceUser: TestUser;
	let bobUser: TestUser;
	const rooms = { main: `Restart room ${process.pid % 1000}`, second: `Second room ${process.pid % 1000}` };
	const groupIds: Record<keyof typeof rooms, string> = { main: "", second: "" };

	async function startServer(): Promise<void> {
		node = cluster.startNode("chat", env);
		await waitUntil(
			"the server to be ready",
			async () => {
				if (node.process.exitCode != null) throw new Error(`the server exited:\n${node.log().slice(-3000)}`);
				return (await fetch(`http://127.0.0.1:${env.PORT}/ready`)).ok;
			},
			60_000
		);
	}

	async function stopServer(): Promise<void> {
		const code = await node.kill("SIGTERM");
		assert.equal(code, 0, `graceful stop exits 0:\n${node.log().slice(-2000)}`);
	}

	/** The message is confirmed on the page (ticks), shown once, and stored once (as Bob reads the conversation). */
	async function deliveredOnce(page: Page, groupId: string, text: string): Promise<void> {
		await messageItem(page, text)
			.getByRole("img", { name: /^(sent|delivered|seen)$/ })
			.waitFor({ timeout: 30_000 });
		assert.equal((await messageTexts(page)).filter(t => t.includes(text)).length, 1, `"${text}" shown once`);
		const res = await client({ url }, bobUser.accessToken).get(`/api/messages/${groupId}?limit=100`);
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.equal((res.body.items as { content: string }[]).filter(m => m.content === text).length, 1, `"${text}" stored once`);
	}

	/** Bob posts over REST and the page shows it by itself, no reload. */
	async function arrivesLive(page: Page, text: string): Promise<void> {
		const res = await client({ url }, bobUser.accessToken).post("/api/messages", { groupId: groupIds.main, content: text });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		await until(
			() => messageTexts(page),
			t => t.some(x => x.includes(text)),
			`"${text}" live`
		);
	}

	before(async () => {
		const port = await freePort();
		const listenPort = await freePort();
		env = { PORT: String(port), UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES) };
		await startServer();
		await cluster.startNginx({
			apiServers: [`127.0.0.1:${port}`],
			socketServers: [`127.0.0.1:${port}`],
			listenPort,
			webRoot: path.resolve("web/build")
		});
		url = `http://127.0.0.1:${listenPort}`;
		aliceUser = await registerUser({ url }, "alice");
		bobUser = await registerUser({ url }, "bob");
		for (const key of ["main", "second"] as const) {
			const res = await client({ url }, aliceUser.accessToken).post("/api/groups", { name: rooms[key], memberIds: [bobUser.user.id] });
			assert.equal(res.status, 201, JSON.stringify(res.body));
			groupIds[key] = res.body.id;
		}
		alice = await web.signIn("alice", aliceUser);
	});

	after(() => cluster.stop());

	/** A failure also leaves the server's log behind, and a running server for the next test. */
	const browserTest = (name: string, body: () => Promise<void>) =>
		web.test(name, body, async err => {
			const logs = cluster.logs();
			if (node.process.exitCode != null || node.process.signalCode != null) await startServer().catch(() => undefined);
			return new Error(`${(err as Error).message}\n${logs}`, { cause: err });
		});

	browserTest("after a graceful restart the page recovers by itself, and a message written meanwhile is delivered once", async () => {
		const a = alice.page;
		await openConversation(a, rooms.main);

		await stopServer();
		await untilBanner(a, ["reconnecting"], "the reconnecting banner");
		assert.match(await banner(a).innerText(), /server is restarting|Connection lost/);

		// Written while the server is down: pending, not "Not sent".
		const text = "Written while the server was down";
		await sendWhileDown(a, text);
		await until(
			() => banner(a).innerText(),
			t => /1 unsent message/.test(t) && /Reconnecting in \d+ s/.test(t),
			"the countdown and the unsent count"
		);
		await screenshot(a, "r1-server-down-pending");

		await startServer();
		await untilBanner(a, ["restored", "hidden"], "the page to reconnect by itself", 45_000);
		await untilBanner(a, ["hidden"], "the banner to go back to normal", 15_000);
		await deliveredOnce(a, groupIds.main, text);

		// Live again, without a reload: Bob's next message arrives by itself.
		await arrivesLive(a, "Bob after the restart");
		await screenshot(a, "r2-recovered");
	});

	browserTest("a message written while the server is down survives a reload and is delivered once when it is back", async () => {
		const a = alice.page;
		await openConversation(a, rooms.main);
		await stopServer();
		await untilBanner(a, ["reconnecting"], "the reconnecting banner");

		const text = "Written, then the page reloaded, all while down";
		await sendWhileDown(a, text);

		// nginx still serves the app: the reload works, the user stays signed in and the outbox keeps the message.
		await a.reload();
		await untilBanner(a, ["reconnecting"], "the reconnecting banner after the reload");
		assert.match(a.url(), /\/c\//, "still in the conversation, not sent to the login page");
		await until(
			() => banner(a).innerText(),
			t => /1 unsent message/.test(t),
			"the unsent message after the reload"
		);
		// The browser kept the list and the conversation's latest page: both show, marked as old, with
		// the pending message in its place, and no raw proxy error anywhere.
		const notice = a.getByTestId("list-notice");
		await notice.waitFor();
		assert.match(await notice.innerText(), /Can't reach the server\. Showing what you had\./);
		await a
			.getByRole("navigation", { name: "Conversation list" })
			.getByRole("link", { name: new RegExp(`^${rooms.second}`) })
			.waitFor();
		await a.getByRole("region", { name: `Conversation with ${rooms.main}` }).waitFor();
		await messageItem(a, text).getByRole("img", { name: "waiting to send" }).waitFor();
		await messageItem(a, "Written while the server was down").waitFor();
		assert.doesNotMatch(await a.locator("body").innerText(), /Bad Gateway|Request failed/);
		await screenshot(a, "r3-reloaded-while-down");

		await startServer();
		await untilBanner(a, ["hidden"], "the page to reconnect after the reload", 60_000);
		await notice.waitFor({ state: "detached", timeout: 30_000 });
		await deliveredOnce(a, groupIds.main, text);
		// And live again after all that.
		await arrivesLive(a, "Bob after the second restart");
	});

	browserTest("drafts stay with their conversation, across switching and a reload", async () => {
		const a = alice.page;
		await openConversation(a, rooms.main);
		await composer(a).fill("Half a thought for the main room");
		await openConversation(a, rooms.second);
		assert.equal(await composer(a).inputValue(), "", "the other conversation has no draft");
		await composer(a).fill("Something else for the second room");
		await openConversation(a, rooms.main);
		assert.equal(await composer(a).inputValue(), "Half a thought for the main room");

		await a.reload();
		await a.getByRole("log", { name: "Conversation history" }).waitFor();
		await until(
			() => composer(a).inputValue(),
			v => v === "Half a thought for the main room",
			"the main room's draft after the reload"
		);
		await openConversation(a, rooms.second);
		assert.equal(await composer(a).inputValue(), "Something else for the second room");

		// Sending takes the draft away for good.
		await a.getByRole("button", { name: "Send" }).click();
		await messageItem(a, "Something else for the second room").waitFor();
		assert.equal(await composer(a).inputValue(), "");
		await a.reload();
		await a.getByRole("log", { name: "Conversation history" }).waitFor();
		await messageItem(a, "Something else for the second room").waitFor();
		assert.equal(await composer(a).inputValue(), "", "a sent draft does not come back");
	});

	browserTest("an over-size file is refused before uploading, with the limit in MB, and the text still goes", async () => {
		const limits = await client({ url }).get("/api/assets/limits");
		assert.deepEqual(limits.body, { maxBytes: UPLOAD_MAX_BYTES, chunkBytes: 5 * 1024 * 1024 }, "the limit is public");
		const a = alice.page;
		await openConversation(a, rooms.second);
		const uploads: string[] = [];
		a.on("request", request => {
			if (request.url().includes("/api/assets/upload")) uploads.push(request.url());
		});
		await a.locator('input[type="file"]').setInputFiles({ name: "holiday.mov", mimeType: "video/quicktime", buffer: Buffer.alloc(2 * UPLOAD_MAX_BYTES, 7) });
		const tray = a.getByRole("list", { name: "Attachments" });
		await tray.getByText("holiday.mov").waitFor();
		await tray.getByText("Larger than the 1.0 MB limit").waitFor();
		assert.equal(await tray.getByRole("button", { name: "Retry upload holiday.mov" }).count(), 0, "retrying cannot help");
		assert.deepEqual(uploads, [], "nothing was uploaded");

		await composer(a).fill("The video is too big, here is the gist");
		const send = a.getByRole("button", { name: "Send" });
		assert.ok(await send.isEnabled(), "the failed attachment does not hold back the text");
		await screenshot(a, "r4-oversize-refused");
		await send.click();
		await deliveredOnce(a, groupIds.second, "The video is too big, here is the gist");

		// The refused file stays in the tray until removed.
		await tray.getByRole("button", { name: "Remove holiday.mov" }).click();
		await tray.waitFor({ state: "detached" });
		assert.deepEqual(uploads, [], "still nothing uploaded");
	});
});
