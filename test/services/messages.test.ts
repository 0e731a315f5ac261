import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";

describe("messages", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let carol: TestUser;
	let groupId: string;

	before(async () => {
		app = await startTestApp();
		[alice, bob, carol] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob"), registerUser(app, "carol")]);
		const res = await client(app, alice.accessToken).post("/api/groups", { name: "Team", memberIds: [bob.user.id] });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		groupId = res.body.id;
	});
	after(() => app.stop());

	test("two racing senders get distinct, gapless seqs", async () => {
		const a = client(app, alice.accessToken);
		const b = client(app, bob.accessToken);
		const sends = [];
		for (let i = 0; i < 25; i++) {
			sends.push(a.post("/api/messages", { groupId, content: `a${i}` }));
			sends.push(b.post("/api/messages", { groupId, content: `b${i}` }));
		}
		const results = await Promise.all(sends);
		for (const r of results) assert.equal(r.status, 201, JSON.stringify(r.body));
		const seqs = results.map(r => r.body.seq as number).sort((x, y) => x - y);
		assert.deepEqual(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
		const history = await a.get(`/api/messages/${groupId}?limit=100`);
		assert.deepEqual(history.body.items.map((m: { seq: number }) => m.seq), seqs);
	});

	test("a retried send with the same clientMessageId is stored once", async () => {
		const a = client(app, alice.accessToken);
		const body = { groupId, content: "only once", clientMessageId: "retry-1" };
		const [first, second] = await Promise.all([a.post("/api/messages", body), a.post("/api/messages", body)]);
		const third = await a.post("/api/messages", body);
		assert.equal(first.body.id, second.body.id);
		assert.equal(first.body.id, third.body.id);
		const history = await a.get(`/api/messages/${groupId}?after=${first.body.seq - 1}`);
		assert.equal(history.body.items.filter((m: { content: string }) => m.content === "only once").length, 1);
	});

	test("a non-member gets 404 for history and sends", async () => {
		const c = client(app, carol.accessToken);
		assert.equal((await c.get(`/api/messages/${groupId}`)).status, 404);
		assert.equal((await c.post("/api/messages", { groupId, content: "hi" })).status, 404);
	});
});
