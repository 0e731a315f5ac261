import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import jwt from "jsonwebtoken";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";

describe("api gateway", () => {
	let app: TestApp;
	let owner: TestUser;
	let member: TestUser;
	let outsider: TestUser;
	let groupId: string;
	let messageId: string;

	before(async () => {
		app = await startTestApp({ http: { bodyLimit: "16kb", corsOrigins: "*", trustProxy: false } });
		[owner, member, outsider] = await Promise.all([registerUser(app, "own"), registerUser(app, "mem"), registerUser(app, "out")]);
		groupId = (await client(app, owner.accessToken).post("/api/groups", { name: "Matrix", memberIds: [member.user.id] })).body.id;
		messageId = (await client(app, owner.accessToken).post("/api/messages", { groupId, content: "hi" })).body.id;
	});
	after(() => app.stop());

	const endpoints = () =>
		[
			["GET", "/api/users"],
			["GET", "/api/users/profile"],
			["PUT", "/api/users/profile", { displayName: "x" }],
			["GET", `/api/users/${member.user.id}`],
			["POST", "/api/groups", { name: "x", memberIds: [] }],
			["GET", "/api/groups"],
			["GET", `/api/groups/${groupId}`],
			["PUT", `/api/groups/${groupId}`, { name: "renamed" }],
			["POST", `/api/groups/${groupId}/members`, { userIds: [outsider.user.id] }],
			["DELETE", `/api/groups/${groupId}/members/${member.user.id}`],
			["PUT", `/api/groups/${groupId}/members/${member.user.id}`, { role: "admin" }],
			["POST", "/api/messages", { groupId, content: "x" }],
			["GET", `/api/messages/${groupId}`],
			["DELETE", `/api/messages/${messageId}`],
			["GET", `/api/messages/${groupId}/receipts`],
			["POST", `/api/messages/${groupId}/delivered`, { seq: 1 }],
			["POST", `/api/messages/${groupId}/seen`, { seq: 1 }]
		] as [string, string, unknown?][];

	test("every endpoint that needs a user answers 401 without, with a bad and with an expired token", async () => {
		const expired = jwt.sign({ typ: "access", username: owner.user.username }, app.config.jwt.secret, { subject: owner.user.id, expiresIn: -1 });
		for (const [method, url, body] of endpoints()) {
			for (const token of [undefined, "bad.token.here", expired]) {
				const res = await client(app, token).request(method, url, body);
				assert.equal(res.status, 401, `${method} ${url} with ${token ? "a bad token" : "no token"}: ${res.status}`);
			}
		}
		const after = await client(app, owner.accessToken).get(`/api/groups/${groupId}`);
		assert.equal(after.body.name, "Matrix", "nothing changed");
		assert.equal(after.body.members.length, 2);
	});

	test("signing in, refreshing and logging out ignore a stale, expired or malformed token sent along", async () => {
		const expired = jwt.sign({ typ: "access", username: member.user.username }, app.config.jwt.secret, { subject: member.user.id, expiresIn: -1 });
		for (const token of ["bad.token.here", expired]) {
			const stale = client(app, token);
			const login = await stale.post("/api/auth/login", { username: member.user.username, password: "correct horse battery" });
			assert.equal(login.status, 200, JSON.stringify(login.body));
			const refreshed = await stale.post("/api/auth/refresh", { refreshToken: login.body.refreshToken });
			assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
			assert.equal((await stale.post("/api/auth/logout", { refreshToken: refreshed.body.refreshToken })).status, 200);
			assert.equal((await stale.post("/api/auth/refresh", { refreshToken: refreshed.body.refreshToken })).status, 401, "logged out");
			const registered = await stale.post("/api/auth/register", { username: `fresh${token.length}`, password: "password123" });
			assert.equal(registered.status, 201, JSON.stringify(registered.body));
			// The token is still checked where the caller matters.
			assert.equal((await stale.get("/api/groups")).status, 401);
		}
	});

	test("a non-member gets 404 for everything scoped to the conversation, and changes nothing", async () => {
		const groupScoped = endpoints().filter(([, url]) => url.includes(groupId) || url.includes(messageId));
		groupScoped.push(["POST", "/api/messages", { groupId, content: "intruder" }]);
		for (const [method, url, body] of groupScoped) {
			const res = await client(app, outsider.accessToken).request(method, url, body);
			assert.equal(res.status, 404, `${method} ${url}: ${res.status}`);
		}
		const history = (await client(app, owner.accessToken).get(`/api/messages/${groupId}`)).body.items;
		assert.deepEqual(
			history.map((m: { content: string }) => m.content),
			["hi"]
		);
	});

	test("malformed bodies are 400/413/422 with JSON errors, never 500", async () => {
		const api = client(app, owner.accessToken);
		const bad = await api.request("POST", "/api/messages", '{"groupId": ');
		assert.equal(bad.status, 400);
		assert.equal(bad.body.type, "INVALID_JSON");
		const huge = await api.post("/api/messages", { groupId, content: "x".repeat(20_000) });
		assert.equal(huge.status, 413);
		assert.equal(huge.body.type, "PAYLOAD_TOO_LARGE");
		for (const body of ["[]", "null", '"text"', "42", "[1,2]", '{"__proto__": {"admin": true}, "groupId": "x"}']) {
			const res = await api.request("POST", "/api/messages", body);
			assert.ok(res.status >= 400 && res.status < 500, `${body} → ${res.status}`);
			assert.equal(typeof res.body.message, "string");
		}
		const weird = await api.post("/api/groups", { name: { $regex: ".*" }, memberIds: [{ $ne: null }] });
		assert.equal(weird.status, 422);
	});

	test("unknown routes are JSON 404s; health answers without a token", async () => {
		assert.equal((await client(app, owner.accessToken).get("/api/nope")).status, 404);
		const health = await client(app).get("/health");
		assert.equal(health.status, 200);
		assert.equal(health.body.status, "ok");
		const ready = await client(app).get("/ready");
		assert.equal(ready.status, 200);
		assert.equal(ready.body.status, "ready");
	});

	test("CORS preflight is answered", async () => {
		const res = await fetch(`${app.url}/api/groups`, {
			method: "OPTIONS",
			headers: { origin: "https://chat.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" }
		});
		assert.ok(res.status === 204 || res.status === 200, String(res.status));
		assert.ok(res.headers.get("access-control-allow-origin"));
	});
});

describe("rate limit", () => {
	let app: TestApp;
	before(async () => {
		app = await startTestApp({ rateLimit: { restPerMinute: 5, sendPerSecond: 20, sendBurst: 40 } });
	});
	after(() => app.stop());

	test("over the per-minute limit requests get 429 with Retry-After", async () => {
		const api = client(app);
		const statuses: number[] = [];
		for (let i = 0; i < 7; i++) statuses.push((await api.post("/api/auth/login", { username: "nobody", password: "whatever1" })).status);
		assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
		const limited = await api.post("/api/auth/login", { username: "nobody", password: "whatever1" });
		assert.equal(limited.status, 429);
		assert.equal(limited.body.type, "RATE_LIMITED");
		// Like every 429: how long to wait, in the body and the header, no later than the minute's end.
		const { retryAfterMs } = limited.body.data;
		assert.ok(Number.isInteger(retryAfterMs) && retryAfterMs >= 0 && retryAfterMs <= 60_000, JSON.stringify(limited.body));
		assert.equal(limited.headers.get("retry-after"), String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
	});
});
