import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe } from "node:test";
import type { Page } from "playwright-core";
import sharp from "sharp";
import type { TestUser } from "../helpers/app.ts";
import { browserSkipReason, logInThroughUI, screenshot, until, type UserPage } from "../helpers/browser.ts";
import { useWebApp } from "../helpers/web-app.ts";

/*
 * Rich text and link previews in real Chromium: markdown renders (bold, code, a quote), none of the
 * HTML or javascript: links in a message does anything, and a loopback page's preview card shows for
 * both members, until its author removes it with the card's ×.
 */

const skip = browserSkipReason();

const PAYLOAD =
	"**bold words** and `inline <b>code</b>` <img src=x onerror=\"window.__xss='img'\"> <script>window.__xss='script'</script> " +
	"[click me](javascript:window.__xss='link') [data](data:text/html,<script>alert(1)</script>)";

describe("rich text and link previews in the browser", { skip, timeout: 180_000 }, () => {
	let pages: Server;
	let port: number;
	let alice: UserPage;
	let bob: UserPage;
	let aliceUser: TestUser;
	let bobUser: TestUser;
	const groupName = `Links ${process.pid % 10_000}`;
	const dialogs: string[] = [];
	const pageErrors: string[] = [];

	before(async () => {
		const png = await sharp({ create: { width: 320, height: 160, channels: 3, background: "#2a7" } })
			.png()
			.toBuffer();
		pages = createServer((req, res) => {
			if (req.url === "/img.png") return res.writeHead(200, { "content-type": "image/png" }).end(png);
			res
				.writeHead(200, { "content-type": "text/html; charset=utf-8" })
				.end(
					`<html><head><meta property="og:title" content="The loopback article"><meta property="og:description" content="What the page is about">` +
						`<meta property="og:site_name" content="Loopback News"><meta property="og:image" content="/img.png"></head><body></body></html>`
				);
		});
		await new Promise<void>(resolve => pages.listen(0, "127.0.0.1", resolve));
		port = (pages.address() as AddressInfo).port;
	});
	const web = useWebApp(["alice", "bob"], () => ({ linkPreviews: { enabled: true, allowHosts: [`127.0.0.1:${port}`] } }));
	before(async () => {
		[aliceUser, bobUser] = web.users;
		const groupId = await web.group(aliceUser, groupName, [bobUser], { type: "group" });
		const a = web.api(aliceUser);
		assert.equal((await a.post("/api/messages", { groupId, content: PAYLOAD })).status, 201);
		assert.equal((await a.post("/api/messages", { groupId, content: "> quoted line\n\n- first item\n- second item" })).status, 201);
		assert.equal((await a.post("/api/messages", { groupId, content: `Read http://127.0.0.1:${port}/article today` })).status, 201);
		[alice, bob] = [await web.open("alice"), await web.open("bob")];
		for (const page of [alice.page, bob.page])
			page.on("dialog", dialog => {
				dialogs.push(dialog.message());
				void dialog.dismiss();
			});
		for (const page of [alice.page, bob.page])
			page.on("pageerror", err => void pageErrors.push(err.message)).on("console", m => void (m.type() === "error" && pageErrors.push(m.text())));
		await logInThroughUI(alice.page, aliceUser.user.username);
		await logInThroughUI(bob.page, bobUser.user.username);
	});
	after(() => pages?.close());

	const open = async (page: Page) => {
		await page
			.getByRole("navigation", { name: "Conversation list" })
			.getByRole("link", { name: new RegExp(`^${groupName}`) })
			.click();
		await page.getByRole("log", { name: "Conversation history" }).waitFor();
	};
	const messageWith = (page: Page, text: string) => page.getByTestId("message-list").getByTestId("message").filter({ hasText: text });

	web.test("markdown renders, HTML and javascript: links do nothing, the preview card shows and its author removes it", async () => {
		await open(bob.page).catch(err => {
			throw new Error(`${err.message}; page errors: ${pageErrors.join(" | ")}`);
		});
		const rich = messageWith(bob.page, "bold words");
		await rich.waitFor();
		assert.equal(await rich.locator("strong").innerText(), "bold words");
		assert.equal(await rich.locator("code").innerText(), "inline <b>code</b>");
		assert.equal(await rich.locator("img, script, iframe").count(), 0);
		assert.match(await rich.innerText(), /<img src=x onerror=/, "raw HTML is shown as text");
		assert.equal(await rich.locator("a").count(), 0, "javascript: and data: links are not links");
		await rich.getByText("click me").click();
		const quote = messageWith(bob.page, "quoted line");
		assert.equal(await quote.locator("blockquote").innerText(), "quoted line");
		assert.deepEqual(await quote.locator("li").allInnerTexts(), ["first item", "second item"]);

		const card = bob.page.getByTestId("link-preview");
		await card.waitFor();
		assert.match(await card.innerText(), /Loopback News[\s\S]*The loopback article[\s\S]*What the page is about/);
		const image = card.locator("img");
		await until(
			() => image.evaluate(img => (img as unknown as { naturalWidth: number }).naturalWidth),
			width => width > 0,
			"the preview image loaded"
		);
		const link = messageWith(bob.page, "Read http").locator(".rich-text a");
		assert.equal(await link.getAttribute("target"), "_blank");
		assert.equal(await link.getAttribute("rel"), "noopener noreferrer");
		assert.equal(await card.getByRole("button", { name: "Remove preview" }).count(), 0, "only the author may remove it");
		await screenshot(bob.page, "rich-text-and-preview");

		assert.equal(await bob.page.evaluate(() => (globalThis as unknown as { __xss?: string }).__xss ?? null), null, "no payload ran");
		assert.deepEqual(dialogs, []);
		assert.deepEqual(pageErrors, []);

		await open(alice.page);
		await alice.page.getByTestId("link-preview").getByRole("button", { name: "Remove preview" }).click();
		await until(
			() => bob.page.getByTestId("link-preview").count(),
			n => n === 0,
			"the preview gone for the other member"
		);
		assert.equal(await alice.page.getByTestId("link-preview").count(), 0);
		assert.equal(await alice.page.evaluate(() => (globalThis as unknown as { __xss?: string }).__xss ?? null), null);
	});
});
