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
		assert.deepEqual(
			seqs,
			Array.from({ length: 50 }, (_, i) => i + 1)
		);
		const history = await a.get(`/api/messages/${groupId}?limit=100`);
		assert.deepEqual(
			history.body.items.map((m: { seq: number }) => m.seq),
			seqs
		);
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

	test("history pages by seq in ascending order with before/after cursors", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Paging", memberIds: [bob.user.id] })).body;
		for (let i = 1; i <= 30; i++) await a.post("/api/messages", { groupId: g.id, content: `m${i}` });
		const seqs = (res: { body: { items: { seq: number }[] } }) => res.body.items.map(m => m.seq);
		const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
		assert.deepEqual(seqs(await a.get(`/api/messages/${g.id}?limit=5`)), range(26, 30));
		assert.deepEqual(seqs(await a.get(`/api/messages/${g.id}?before=26&limit=5`)), range(21, 25));
		assert.deepEqual(seqs(await a.get(`/api/messages/${g.id}?before=3&limit=5`)), [1, 2]);
		assert.deepEqual(seqs(await a.get(`/api/messages/${g.id}?after=27&limit=5`)), [28, 29, 30]);
		assert.deepEqual(seqs(await a.get(`/api/messages/${g.id}?after=30`)), []);
		assert.deepEqual(seqs(await a.get(`/api/messages/${g.id}?after=0&limit=3`)), [1, 2, 3]);
		assert.equal((await a.get(`/api/messages/${g.id}?limit=101`)).status, 422);
		assert.equal((await a.get(`/api/messages/${g.id}?before=-1`)).status, 422);
		assert.equal((await a.get(`/api/messages/${g.id}?before=abc`)).status, 422);
		assert.equal((await a.get(`/api/messages/${g.id}?before=5&after=1`)).status, 422);
		assert.equal((await a.get(`/api/messages/not-an-id`)).status, 422);
	});

	test("content rules: trimmed, 1–4000 characters", async () => {
		const a = client(app, alice.accessToken);
		const groupId = (await a.post("/api/groups", { name: "Content", memberIds: [bob.user.id] })).body.id;
		const ok = await a.post("/api/messages", { groupId, content: "  padded  " });
		assert.equal(ok.body.content, "padded");
		assert.equal((await a.post("/api/messages", { groupId, content: "x".repeat(4000) })).status, 201);
		for (const content of ["", "   ", "x".repeat(4001), 42, { $gt: "" }, ["a"]]) {
			const res = await a.post("/api/messages", { groupId, content });
			assert.equal(res.status, 422, JSON.stringify(content).slice(0, 40));
		}
		const last = (await a.get(`/api/messages/${groupId}?limit=1`)).body.items[0];
		assert.equal(last.content.length, 4000, "rejected sends stored nothing");
	});

	test("delete leaves a tombstone that keeps its seq; only the author or an admin may delete", async () => {
		const a = client(app, alice.accessToken);
		const b = client(app, bob.accessToken);
		const groupId = (await a.post("/api/groups", { name: "Tombstones", memberIds: [bob.user.id] })).body.id;
		const mine = (await b.post("/api/messages", { groupId, content: "bob's words" })).body;
		const alices = (await a.post("/api/messages", { groupId, content: "alice's words" })).body;
		assert.equal((await b.del(`/api/messages/${alices.id}`)).status, 403, "a member cannot delete others' messages");
		assert.equal((await client(app, carol.accessToken).del(`/api/messages/${mine.id}`)).status, 404);
		const tomb = await b.del(`/api/messages/${mine.id}`);
		assert.equal(tomb.status, 200);
		assert.equal(tomb.body.seq, mine.seq);
		assert.equal(tomb.body.content, "");
		assert.ok(tomb.body.deletedAt);
		assert.equal((await a.del(`/api/messages/${alices.id}`)).status, 200, "the owner deletes");
		const page = (await a.get(`/api/messages/${groupId}?after=${mine.seq - 1}&limit=2`)).body.items;
		assert.deepEqual(
			page.map((m: { seq: number; content: string }) => [m.seq, m.content]),
			[
				[mine.seq, ""],
				[alices.seq, ""]
			]
		);
		assert.equal((await b.del(`/api/messages/${mine.id}`)).status, 200, "deleting again is harmless");
		assert.equal((await b.del("/api/messages/aaaaaaaaaaaaaaaaaaaaaaaa")).status, 404);
	});

	test("receipts: cursors only move forward and drive sent → delivered → seen", async () => {
		const a = client(app, alice.accessToken);
		const b = client(app, bob.accessToken);
		const dm = (await a.post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body;
		const m1 = (await a.post("/api/messages", { groupId: dm.id, content: "one" })).body;
		const m2 = (await a.post("/api/messages", { groupId: dm.id, content: "two" })).body;
		assert.equal(m1.status, "sent");
		const statuses = async () => (await a.get(`/api/messages/${dm.id}`)).body.items.map((m: { status: string }) => m.status);
		assert.deepEqual(await statuses(), ["sent", "sent"]);
		assert.equal((await b.post(`/api/messages/${dm.id}/delivered`, { seq: m2.seq })).body.moved, true);
		assert.deepEqual(await statuses(), ["delivered", "delivered"]);
		assert.equal((await b.post(`/api/messages/${dm.id}/seen`, { messageId: m1.id })).status, 200);
		assert.deepEqual(await statuses(), ["seen", "delivered"]);
		assert.equal((await b.post(`/api/messages/${dm.id}/seen`, { seq: 1 })).body.moved, false, "never backwards");
		assert.equal((await b.post(`/api/messages/${dm.id}/seen`, { seq: 99 })).status, 422, "not beyond the last message");
		assert.equal((await b.post(`/api/messages/${dm.id}/seen`, {})).status, 422);
		assert.equal((await client(app, carol.accessToken).post(`/api/messages/${dm.id}/seen`, { seq: 1 })).status, 404);
		const receipts = (await a.get(`/api/messages/${dm.id}/receipts`)).body.items;
		assert.deepEqual(
			receipts.find((r: { userId: string }) => r.userId === bob.user.id),
			{ userId: bob.user.id, deliveredSeq: 2, readSeq: 1 }
		);
		assert.equal((await b.get(`/api/groups/${dm.id}`)).body.unreadCount, 1);
	});

	test("group receipts count members; a message is seen once every other member saw it", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Counts", memberIds: [bob.user.id, carol.user.id] })).body;
		const m = (await a.post("/api/messages", { groupId: g.id, content: "hello all" })).body;
		await client(app, bob.accessToken).post(`/api/messages/${g.id}/seen`, { seq: m.seq });
		let [view] = (await a.get(`/api/messages/${g.id}`)).body.items;
		assert.deepEqual([view.status, view.deliveredCount, view.seenCount], ["sent", 1, 1]);
		await client(app, carol.accessToken).post(`/api/messages/${g.id}/delivered`, { seq: m.seq });
		[view] = (await a.get(`/api/messages/${g.id}`)).body.items;
		assert.deepEqual([view.status, view.deliveredCount, view.seenCount], ["delivered", 2, 1]);
		await client(app, carol.accessToken).post(`/api/messages/${g.id}/seen`, { seq: m.seq });
		[view] = (await a.get(`/api/messages/${g.id}`)).body.items;
		assert.deepEqual([view.status, view.deliveredCount, view.seenCount], ["seen", 2, 2]);
	});

	test("a clientMessageId cannot be reused for another conversation", async () => {
		const a = client(app, alice.accessToken);
		const other = (await a.post("/api/groups", { name: "Other", memberIds: [] })).body;
		assert.equal((await a.post("/api/messages", { groupId, content: "x", clientMessageId: "shared-id" })).status, 201);
		const res = await a.post("/api/messages", { groupId: other.id, content: "x", clientMessageId: "shared-id" });
		assert.equal(res.status, 409);
		assert.equal((await a.post("/api/messages", { groupId, content: "x", clientMessageId: "bad id with spaces" })).status, 422);
	});
});
