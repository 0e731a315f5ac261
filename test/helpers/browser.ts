import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium (playwright cannot download its own here); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

export const SCREENSHOT_DIR = path.resolve("test-artifacts/screenshots");

/** The password every user created through these helpers gets (the same as registerUser's). */
export const PASSWORD = "correct horse battery";

/**
 * Why browser tests must skip, or false when Chromium is there. In CI (CI=true) a missing
 * browser is a failure, never a silent skip.
 */
export function browserSkipReason(): string | false {
	if (existsSync(CHROMIUM_PATH)) return false;
	const reason = `Chromium not found at ${CHROMIUM_PATH} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
	if (process.env.CI === "true") throw new Error(`Chromium is required in CI: ${reason}`);
	return reason;
}

export function launchBrowser(): Promise<Browser> {
	return chromium.launch({
		executablePath: CHROMIUM_PATH,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-background-networking",
			"--disable-quic",
			"--no-first-run",
			"--disable-component-update",
			"--disable-sync"
		],
		timeout: 60_000
	});
}

export interface UserPage {
	context: BrowserContext;
	page: Page;
}

/** A fresh browser profile (its own localStorage, so its own session) with one page at `url`. */
export async function openUserPage(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<UserPage> {
	const context = await browser.newContext({ viewport, colorScheme: "light", reducedMotion: "reduce" });
	context.setDefaultTimeout(20_000);
	context.setDefaultNavigationTimeout(30_000);
	const page = await context.newPage();
	await page.goto(url);
	return { context, page };
}

/** Logs in through the login form and waits for the conversation list. */
export async function logInThroughUI(page: Page, username: string, password = PASSWORD): Promise<void> {
	await page.getByLabel("Username").fill(username);
	await page.getByLabel("Password").fill(password);
	await page.getByRole("button", { name: "Log in" }).click();
	await page.getByRole("navigation", { name: "Conversation list" }).waitFor();
}

/** Saves a full-page PNG under test-artifacts/screenshots/ (gitignored), for a human to look at. */
export async function screenshot(page: Page, name: string): Promise<string> {
	mkdirSync(SCREENSHOT_DIR, { recursive: true });
	const file = path.join(SCREENSHOT_DIR, `${name}.png`);
	// Let web fonts and images settle so the picture shows what a user sees.
	await page.evaluate("document.fonts.ready").catch(() => undefined);
	await page.screenshot({ path: file, animations: "disabled", caret: "hide" });
	return file;
}

/** Closes every context given, ignoring ones already closed (cleanup must not mask a failure). */
export async function closeAll(...contexts: (BrowserContext | undefined)[]): Promise<void> {
	await Promise.all(contexts.map(c => c?.close().catch(() => undefined)));
}

/**
 * Polls `probe` until `accept` holds for its value (a probe that throws counts as "not yet");
 * fails with the last value seen, so a timeout says what the page showed instead.
 */
export async function until<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown = "(never probed)";
	for (;;) {
		try {
			const value = await probe();
			if (accept(value)) return value;
			last = value;
		} catch (err) {
			last = err instanceof Error ? err.message : err;
		}
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
		await new Promise(r => setTimeout(r, 100));
	}
}

/** The texts of the messages in the open conversation, in the order they are shown. */
export function messageTexts(page: Page): Promise<string[]> {
	return page.getByTestId("message-list").getByTestId("message").allInnerTexts();
}

/** The message composer's text field. */
export function composer(page: Page) {
	return page.getByLabel("Message", { exact: true });
}

/** After a failed test: a screenshot of every page given, named after the test and whose page it is. */
export async function screenshotFailure(testName: string, pages: [who: string, page: Page][]): Promise<void> {
	const slug = testName.replace(/\W+/g, "-").slice(0, 40);
	for (const [who, page] of pages) await screenshot(page, `FAILED-${slug}-${who}`).catch(() => undefined);
}

/**
 * A test whose failure leaves a screenshot of every page `pages()` names behind, to see why; `onFailure` may
 * add to the error (a server log) or clean up for the next test, and returns the error to throw.
 */
export function testInBrowser(
	name: string,
	pages: () => [who: string, page: Page][],
	body: () => Promise<void>,
	onFailure?: (err: unknown) => Promise<unknown>
): void {
	test(name, async () => {
		try {
			await body();
		} catch (err) {
			await screenshotFailure(name, pages());
			throw onFailure ? await onFailure(err) : err;
		}
	});
}
