import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";

describe("users", () => {
	let app: TestApp;
	let me: TestUser;

	before(async () => {
		app = await startTestApp();
		me = await registerUser(app, "profile");
		const api = client(app);
		for (const [username, displayName] of [
			["zoe_search", "Zoë Adams"],
			["zack_search", "Zachary"],
			["adam_search", "Zed Master"]
		])
			await api.post("/api/auth/register", { username, password: "long enough", displayName });
	});
	after(() => app.stop());

	test("profile read and update; the change is visible to others at once", async () => {
		const api = client(app, me.accessToken);
		const res = await api.put("/api/users/profile", { displayName: "  New Name ", statusText: "On holiday", avatarUrl: "https://example.com/a.png" });
		assert.equal(res.status, 200);
		assert.deepEqual(
			{ displayName: res.body.displayName, statusText: res.body.statusText, avatarUrl: res.body.avatarUrl },
			{ displayName: "New Name", statusText: "On holiday", avatarUrl: "https://example.com/a.png" }
		);
		assert.equal((await api.get("/api/users/profile")).body.displayName, "New Name");
		const other = await registerUser(app, "viewer");
		assert.equal((await client(app, other.accessToken).get(`/api/users/${me.user.id}`)).body.displayName, "New Name");
		assert.equal((await api.put("/api/users/profile", { displayName: "Again" })).status, 200);
		assert.equal((await client(app, other.accessToken).get(`/api/users/${me.user.id}`)).body.displayName, "Again", "cached profile was cleaned");
	});

	test("profile updates validate every field and change nothing when one is bad", async () => {
		const api = client(app, me.accessToken);
		const before = (await api.get("/api/users/profile")).body;
		for (const body of [
			{ displayName: "" },
			{ displayName: "x".repeat(65) },
			{ statusText: "x".repeat(141) },
			{ avatarUrl: "javascript:alert(1)" },
			{ displayName: { $set: "x" } },
			{ displayName: "fine", avatarAssetId: "nope" },
			{ avatarAssetId: "aaaaaaaaaaaaaaaaaaaaaaaa" }
		]) {
			const res = await api.put("/api/users/profile", body);
			assert.ok(res.status === 422, `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
		}
		assert.deepEqual((await api.get("/api/users/profile")).body, before);
		const unknownField = await api.put("/api/users/profile", { username: "hijack", passwordHash: "x" });
		assert.equal(unknownField.status, 200);
		assert.equal(unknownField.body.username, before.username);
	});

	test("search matches username or display name prefixes, case-insensitively, paginated", async () => {
		const api = client(app, me.accessToken);
		const z = (await api.get("/api/users?search=Z")).body.items.map((u: { username: string }) => u.username);
		assert.deepEqual(z, ["adam_search", "zack_search", "zoe_search"]);
		const page = (await api.get("/api/users?search=z&limit=2&offset=2")).body.items.map((u: { username: string }) => u.username);
		assert.deepEqual(page, ["zoe_search"]);
		assert.deepEqual((await api.get("/api/users?search=" + encodeURIComponent(".*"))).body.items, [], "regex characters are literal");
		const decomposed = (await api.get("/api/users?search=" + encodeURIComponent("Zoe\u0308"))).body.items.map((u: { username: string }) => u.username);
		assert.deepEqual(decomposed, ["zoe_search"], "'Zoë' typed as 'Zoe' + U+0308 finds the name stored as 'Zoë'");
		assert.equal((await api.get("/api/users?limit=500")).status, 422);
		assert.equal((await client(app).get("/api/users?search=z")).status, 401);
	});

	test("batch get by ids", async () => {
		const api = client(app, me.accessToken);
		const ids = (await api.get("/api/users?search=z")).body.items.map((u: { id: string }) => u.id);
		const res = await api.get(`/api/users?ids=${ids.join(",")},aaaaaaaaaaaaaaaaaaaaaaaa`);
		assert.deepEqual(res.body.items.map((u: { id: string }) => u.id).sort(), [...ids].sort());
		assert.equal((await api.get("/api/users?ids=not-an-id")).status, 422);
		assert.equal((await api.get("/api/users/aaaaaaaaaaaaaaaaaaaaaaaa")).status, 404);
	});
});
