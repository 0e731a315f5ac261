import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "../../lib/config.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { sha256, startAssetsApp, testImage, uploadFile, type AssetsTestApp } from "../helpers/assets.ts";

/** Everything the node logs while `run` runs (Moleculer's console logger writes through console.*). */
async function capturingLogs(run: () => Promise<void>): Promise<string> {
	const lines: string[] = [];
	const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error };
	for (const name of Object.keys(originals) as (keyof typeof originals)[]) console[name] = (...args: unknown[]) => lines.push(args.map(String).join(" "));
	try {
		await run();
	} finally {
		Object.assign(console, originals);
	}
	return lines.join("\n");
}

describe("sessions and cached answers", () => {
	let app: TestApp;
	let me: TestUser;
	let other: TestUser;

	before(async () => {
		app = await startTestApp();
		[me, other] = await Promise.all([registerUser(app, "cache"), registerUser(app, "seen")]);
	});
	after(() => app.stop());

	test("a cached profile is never handed to an anonymous or badly signed caller", async () => {
		const url = `/api/users/${other.user.id}`;
		assert.equal((await client(app, me.accessToken).get(url)).status, 200, "the profile is now cached");
		assert.equal((await client(app, me.accessToken).get(url)).status, 200);
		for (const token of [undefined, "bad.token.here", me.accessToken.slice(0, -2) + "xx"]) {
			const res = await client(app, token).get(url);
			assert.equal(res.status, 401, `${token ? "a bad token" : "no token"}: ${res.status}`);
			assert.equal(res.body.displayName, undefined);
		}
	});

	test("every cached action a client can reach declares authentication outside the cache", () => {
		const published: string[] = [];
		for (const service of app.broker.services) {
			for (const [name, action] of Object.entries((service.schema.actions ?? {}) as Record<string, Record<string, unknown>>)) {
				if (!action || typeof action !== "object" || !action.cache) continue;
				if (action.visibility === "public" || action.visibility === "protected" || action.visibility === "private") continue;
				published.push(`${service.name}.${name}`);
				assert.equal(action.auth, "required", `${service.name}.${name} is cached and published without auth`);
			}
		}
		// Any signed-in user may read any profile; membership-scoped reads (groups.get, messages.history) are not cached.
		assert.deepEqual(published, ["users.get"]);
	});

	test("logout revokes a session only with the refresh token's secret, not its id alone", async () => {
		const session = (await client(app).post("/api/auth/login", { username: me.user.username, password: "correct horse battery" })).body;
		const [tokenId] = session.refreshToken.split(".");
		for (const refreshToken of [tokenId, `${tokenId}.`, `${tokenId}.${"A".repeat(43)}`]) {
			assert.equal((await client(app).post("/api/auth/logout", { refreshToken })).status, 200);
		}
		const refreshed = await client(app).post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(refreshed.status, 200, "the session survived");
		assert.equal((await client(app).post("/api/auth/logout", { refreshToken: refreshed.body.refreshToken })).status, 200);
		assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: refreshed.body.refreshToken })).status, 401, "revoked by its holder");
	});
});

describe("sign-in attempts are limited per account and address, without locking the owner out", () => {
	let app: TestApp;
	let owner: TestUser;

	before(async () => {
		app = await startTestApp({
			http: { bodyLimit: "256kb", corsOrigins: "*", trustProxy: true },
			login: { attemptsPerAddress: 3, addressWindowSeconds: 900, attemptsPerAccount: 5, accountWindowSeconds: 3600, newAccountsPerAddress: 5 }
		});
		owner = await registerUser(app, "target");
	});
	after(() => app.stop());

	const login = (address: string, password: string) =>
		client(app).post("/api/auth/login", { username: owner.user.username, password }, { "x-real-ip": address });

	test("one address guesses slowly, many addresses share one bucket, the owner's own address always gets in", async () => {
		assert.equal((await login("10.0.0.1", "correct horse battery")).status, 200, "the owner's usual address");
		for (let i = 0; i < 3; i++) assert.equal((await login("10.0.0.2", "wrong password")).status, 401);
		const limited = await login("10.0.0.2", "correct horse battery");
		assert.equal(limited.status, 429, "this address is out of attempts for this account, even with the right password");
		assert.ok(Number(limited.headers.get("retry-after")) > 0);
		// 4 of the account's 5 attempts from unknown addresses are spent (the first sign-in was from a new address too).
		assert.equal((await login("10.0.1.1", "wrong password")).status, 401);
		assert.equal((await login("10.0.1.3", "wrong password")).status, 429, "the account's bucket for unknown addresses is empty");
		assert.equal((await login("10.0.2.1", "correct horse battery")).status, 429, "a new address waits too");
		assert.equal((await login("10.0.0.1", "correct horse battery")).status, 200, "the owner's known address is never locked out");
		const stranger = await client(app).post("/api/auth/login", { username: "nobody_here", password: "wrong password" }, { "x-real-ip": "10.0.1.3" });
		assert.equal(stranger.status, 401, "other accounts are not affected");
	});

	test("one address trying many accounts shares one bucket; accounts that know the address still sign in from it", async () => {
		const [office, fresh] = await Promise.all([registerUser(app, "office"), registerUser(app, "fresh")]);
		const from = (address: string, username: string, password: string) => client(app).post("/api/auth/login", { username, password }, { "x-real-ip": address });
		assert.equal((await from("10.0.9.9", office.user.username, "correct horse battery")).status, 200, "a first sign-in from the shared address");
		// 4 more of the address's 5 attempts at accounts that do not know it: one guess each.
		for (const username of ["nobody_0", "nobody_1", "nobody_2", "nobody_3"])
			assert.equal((await from("10.0.9.9", username, "Password1!")).status, 401, username);
		const sprayed = await from("10.0.9.9", fresh.user.username, "correct horse battery");
		assert.equal(sprayed.status, 429, "the address is out of attempts at accounts it never signed in to, even with the right password");
		assert.ok(Number(sprayed.headers.get("retry-after")) > 0);
		assert.equal((await from("10.0.9.9", "nobody_4", "Password1!")).status, 429, "unknown accounts count the same");
		assert.equal(
			(await from("10.0.9.9", office.user.username, "correct horse battery")).status,
			200,
			"an account that signed in from it before is not limited"
		);
		assert.equal((await from("10.0.9.10", fresh.user.username, "correct horse battery")).status, 200, "other addresses are not affected");
		const registered = await client(app).post("/api/auth/register", { username: "newcomer", password: "correct horse battery" }, { "x-real-ip": "10.0.9.9" });
		assert.equal(registered.status, 201);
		assert.equal((await from("10.0.9.9", "newcomer", "correct horse battery")).status, 200, "the address an account registered from is one it knows");
	});
});

describe("CORS", () => {
	test("production defaults to the app's own origin; development allows any", () => {
		const production = loadConfig({ NODE_ENV: "production", JWT_SECRET: "a-long-random-production-secret-0123456789", DATA_DIR: ":memory:" });
		assert.deepEqual(production.http.corsOrigins, []);
		assert.equal(loadConfig({ NODE_ENV: "development", DATA_DIR: ":memory:" }).http.corsOrigins, "*");
		assert.deepEqual(
			loadConfig({ NODE_ENV: "production", JWT_SECRET: production.jwt.secret, DATA_DIR: ":memory:", CORS_ORIGINS: "https://a.example" }).http.corsOrigins,
			["https://a.example"]
		);
	});

	test("same-origin only: foreign origins get no CORS grant, the app's own origin works", async () => {
		const app = await startTestApp({ http: { bodyLimit: "256kb", corsOrigins: [], trustProxy: false } });
		try {
			const preflight = await fetch(`${app.url}/api/auth/login`, {
				method: "OPTIONS",
				headers: { origin: "https://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" }
			});
			assert.equal(preflight.status, 403);
			assert.equal(preflight.headers.get("access-control-allow-origin"), null);
			const foreign = await client(app).post("/api/auth/login", { username: "x", password: "whatever1" }, { origin: "https://evil.example" });
			assert.equal(foreign.status, 403);
			const own = await client(app).post("/api/auth/login", { username: "nobody", password: "whatever1" }, { origin: app.url });
			assert.equal(own.status, 401, "the request reached the action");
		} finally {
			await app.stop();
		}
	});
});

describe("uploads: quota, avatars, logs", () => {
	let app: AssetsTestApp;
	let me: TestUser;
	let other: TestUser;

	before(async () => {
		app = await startAssetsApp({ quotaBytes: 300_000 }, { env: "development", logLevel: "info" });
		[me, other] = await Promise.all([registerUser(app, "quota"), registerUser(app, "other")]);
	});
	after(() => app.stop());

	test("a user's assets stay within their quota, for single and resumable uploads", async () => {
		const text = (n: number) => new Uint8Array(n).fill(97);
		assert.equal((await uploadFile(app, me.accessToken, text(200_000), { name: "a.txt", type: "text/plain" })).status, 201);
		const over = await uploadFile(app, me.accessToken, text(150_000), { name: "b.txt", type: "text/plain" });
		assert.equal(over.status, 413);
		assert.equal(over.body.type, "QUOTA_EXCEEDED");
		assert.deepEqual(over.body.data, { quotaBytes: 300_000, usedBytes: 200_000 });
		const api = client(app, me.accessToken);
		const resumable = await api.post("/api/assets/uploads", { name: "c.txt", size: 150_000 });
		assert.equal(resumable.status, 413);
		assert.equal(resumable.body.type, "QUOTA_EXCEEDED");
		assert.equal((await uploadFile(app, me.accessToken, text(90_000), { name: "d.txt", type: "text/plain" })).status, 201, "what fits still fits");
		assert.equal((await uploadFile(app, other.accessToken, text(150_000), { name: "e.txt", type: "text/plain" })).status, 201, "quotas are per user");
		const small = await api.post("/api/assets/uploads", { name: "f.txt", size: 5_000 });
		assert.equal(small.status, 201);
		const bytes = text(5_000);
		await fetch(`${app.url}/api/assets/uploads/${small.body.uploadId}/chunks/0`, {
			method: "PUT",
			headers: { authorization: `Bearer ${me.accessToken}` },
			body: bytes
		});
		const done = await api.post(`/api/assets/uploads/${small.body.uploadId}/complete`, { checksum: sha256(bytes) });
		assert.equal(done.status, 201);
		const full = await uploadFile(app, me.accessToken, text(10_000), { name: "g.txt", type: "text/plain" });
		assert.equal(full.status, 413);
		assert.equal(full.body.data.usedBytes, 295_000);
	});

	test("an avatar URL is an https URL or one of your own images", async () => {
		const api = client(app, me.accessToken);
		for (const avatarUrl of [
			"http://example.com/a.png",
			"javascript:alert(1)",
			"data:image/png;base64,AAAA",
			"ftp://example.com/a.png",
			"//example.com/a.png",
			"https://user:pw@example.com/a.png"
		]) {
			assert.equal((await api.put("/api/users/profile", { avatarUrl })).status, 422, avatarUrl);
		}
		assert.equal((await api.put("/api/users/profile", { avatarUrl: "https://cdn.example/a.png" })).body.avatarUrl, "https://cdn.example/a.png");
		const image = await uploadFile(app, other.accessToken, await testImage("png", 32, 32), { name: "o.png", type: "image/png" });
		assert.equal(image.status, 201);
		assert.equal((await api.put("/api/users/profile", { avatarUrl: image.body.url })).status, 422, "someone else's image");
		const own = await client(app, other.accessToken).put("/api/users/profile", { avatarUrl: image.body.url });
		assert.equal(own.status, 200);
		assert.match(own.body.avatarUrl, new RegExp(`^/api/assets/${image.body.id}/thumb\\?`));
	});

	test("signed download URLs never reach the request log", async () => {
		const up = await uploadFile(app, other.accessToken, new TextEncoder().encode("secret notes"), { name: "n.txt", type: "text/plain" });
		assert.equal(up.status, 201);
		const sig = new URL(up.body.url, app.url).searchParams.get("sig")!;
		const logs = await capturingLogs(async () => {
			assert.equal((await fetch(app.url + up.body.url)).status, 200);
		});
		assert.match(logs, new RegExp(`GET /api/assets/${up.body.id}/original`), "requests are logged");
		assert.ok(!logs.includes(sig), logs);
	});
});
