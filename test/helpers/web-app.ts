import path from "node:path";
import { after, before } from "node:test";
import type { Browser, Page } from "playwright-core";
import type { ChatConfig } from "../../lib/config.ts";
import { startTestApp, useTestApp, type AppFixture, type TestUser } from "./app.ts";
import { closeAll, launchBrowser, logInThroughUI, openUserPage, testInBrowser, type UserPage } from "./browser.ts";

/** The built web app (`npm run build -w web`) that the Chromium tests load. */
export const WEB_BUILD = path.resolve("web/build");

/** One Chromium for a describe block; see useBrowser. */
export interface BrowserFixture {
	readonly browser: Browser;
	/** A fresh profile for `who` at `path` of the app, closed when the block ends and pictured when a test fails. */
	open(who: string, path?: string, viewport?: { width: number; height: number }): Promise<UserPage>;
	/** A fresh profile for `who`, logged in as `user` through the login form. */
	signIn(who: string, user: TestUser): Promise<UserPage>;
	/** A test whose failure leaves a screenshot of every page open; see testInBrowser for `onFailure`. */
	test(name: string, body: () => Promise<void>, onFailure?: (err: unknown) => Promise<unknown>): void;
}

/**
 * Registers the hooks of a describe block whose tests share one Chromium: launched before them, closed after
 * them with every profile `open` made. `baseUrl` is read when a profile opens, so the app may start later.
 */
export function useBrowser(baseUrl: () => string): BrowserFixture {
	let browser: Browser | undefined;
	const profiles: [who: string, profile: UserPage][] = [];
	const launched = () => {
		if (!browser) throw new Error("the browser is not launched yet: use the fixture inside hooks and tests");
		return browser;
	};
	before(async () => {
		browser = await launchBrowser();
	});
	after(async () => {
		await closeAll(...profiles.map(([, profile]) => profile.context));
		await browser?.close().catch(() => undefined);
	});
	const pages = () => profiles.flatMap(([who, { context }]) => context.pages().map((page): [string, Page] => [who, page]));
	const fixture: BrowserFixture = {
		get browser() {
			return launched();
		},
		async open(who, path = "", viewport) {
			const profile = await openUserPage(launched(), baseUrl() + path, viewport);
			profiles.push([who, profile]);
			return profile;
		},
		async signIn(who, user) {
			const profile = await fixture.open(who);
			await logInThroughUI(profile.page, user.user.username);
			return profile;
		},
		test: (name, body, onFailure) => testInBrowser(name, pages, body, onFailure)
	};
	return fixture;
}

/**
 * The usual Chromium test block: an embedded node serving the built web app (with `config()` on top, read
 * when it starts), a user per name registered, and one Chromium. After the block, the browser closes first.
 */
export function useWebApp(names: string[], config: () => Partial<ChatConfig> = () => ({})): AppFixture & BrowserFixture {
	const browser = useBrowser(() => app.app.url);
	const app = useTestApp(names, () => startTestApp({ webDir: WEB_BUILD, ...config() }));
	return {
		get app() {
			return app.app;
		},
		get users() {
			return app.users;
		},
		get socketUrl() {
			return app.socketUrl;
		},
		get browser() {
			return browser.browser;
		},
		api: app.api,
		group: app.group,
		send: app.send,
		history: app.history,
		connect: app.connect,
		open: browser.open,
		signIn: browser.signIn,
		test: browser.test
	};
}
