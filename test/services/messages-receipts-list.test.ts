import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Message, MessageReceipts } from "../../contract/messages.ts";
import { client, useTestApp, type TestUser } from "../helpers/app.ts";

describe("who has seen a message: GET /api/messages/:id/receipts", () => {
	const t = useTestApp(["alice", "bob", "carol", "dave", "out"]);
	const { api } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser, outsider: TestUser;
	before(() => void ([alice, bob, carol, dave, outsider] = t.users));
	const sorted = (users: TestUser[]) => users.map(u => u.user.id).sort();
	const receiptsOf = async (user: TestUser, id: string): Promise<MessageReceipts> => {
		const res = await api(user).get(`/api/messages/${id}/receipts`);
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return res.body;
	};

	test("seen, delivered only and pending, from the members' cursors, the sender left out", async () => {
		const g = (await api(alice).post("/api/groups", { name: "Readers", memberIds: [bob.user.id, carol.user.id, dave.user.id] })).body;
		const send = async (content: string) => (await api(alice).post("/api/messages", { groupId: g.id, content })).body as Message;
		const first = await send("one");
		const second = await send("two");

		assert.deepEqual(await receiptsOf(alice, first.id), { messageId: first.id, seenBy: [], deliveredTo: [], pending: sorted([bob, carol, dave]) });
		assert.equal((await api(bob).post(`/api/messages/${g.id}/seen`, { seq: second.seq })).status, 200);
		assert.equal((await api(carol).post(`/api/messages/${g.id}/delivered`, { seq: first.seq })).status, 200);

		assert.deepEqual(await receiptsOf(alice, first.id), {
			messageId: first.id,
			seenBy: [bob.user.id],
			deliveredTo: [carol.user.id],
			pending: [dave.user.id]
		});
		assert.deepEqual(await receiptsOf(dave, second.id), {
			messageId: second.id,
			seenBy: [bob.user.id],
			deliveredTo: [],
			pending: sorted([carol, dave])
		});
		assert.equal(first.seenCount, 0);
		const counted = (await api(alice).get(`/api/messages/${g.id}?limit=2`)).body.items as Message[];
		assert.deepEqual(
			counted.map(m => [m.seenCount, m.deliveredCount]),
			[
				[1, 2],
				[1, 1]
			],
			"the lists agree with the counts"
		);

		const bobs = (await api(bob).post("/api/messages", { groupId: g.id, content: "three" })).body as Message;
		const ofBobs = await receiptsOf(alice, bobs.id);
		assert.ok(!ofBobs.seenBy.includes(bob.user.id) && !ofBobs.pending.includes(bob.user.id), "the sender is in no list");
		assert.deepEqual(ofBobs.pending, sorted([alice, carol, dave]));

		// Someone who leaves is no longer listed.
		assert.equal((await api(dave).del(`/api/groups/${g.id}/members/${dave.user.id}`)).status, 200);
		assert.deepEqual((await receiptsOf(alice, first.id)).pending, []);
	});

	test("a reply counts as the replier having read what came before, at once (their own cursor is written behind)", async () => {
		const g = (await api(alice).post("/api/groups", { name: "Quick", memberIds: [bob.user.id] })).body;
		const question = (await api(alice).post("/api/messages", { groupId: g.id, content: "q" })).body as Message;
		const answer = (await api(bob).post("/api/messages", { groupId: g.id, content: "a" })).body as Message;
		// Within the write-behind's second: every read agrees with the send.
		assert.deepEqual(await receiptsOf(alice, question.id), { messageId: question.id, seenBy: [bob.user.id], deliveredTo: [], pending: [] });
		const items = (await api(alice).get(`/api/messages/${g.id}`)).body.items as Message[];
		assert.deepEqual(
			items.map(m => [m.seq, m.status]),
			[
				[question.seq, "seen"],
				[answer.seq, "sent"]
			]
		);
		const cursors = (await api(alice).get(`/api/messages/${g.id}/receipts`)).body.items as { userId: string; readSeq: number }[];
		assert.deepEqual(Object.fromEntries(cursors.map(c => [c.userId, c.readSeq])), { [alice.user.id]: question.seq, [bob.user.id]: answer.seq });
		const seen = await api(bob).post(`/api/messages/${g.id}/seen`, { seq: question.seq });
		assert.equal(seen.body.moved, false, "bob's reply already moved his cursor past it");
	});

	test("members only: 404 for outsiders, unknown ids and former members; the conversation's cursors keep their route", async () => {
		const g = (await api(alice).post("/api/groups", { name: "Closed", memberIds: [bob.user.id] })).body;
		const m = (await api(alice).post("/api/messages", { groupId: g.id, content: "secret" })).body as Message;
		assert.equal((await api(outsider).get(`/api/messages/${m.id}/receipts`)).status, 404);
		assert.equal((await api(alice).get(`/api/messages/${"a".repeat(24)}/receipts`)).status, 404);
		assert.equal((await api(alice).get(`/api/messages/nope/receipts`)).status, 422);
		assert.equal((await client(t.app).get(`/api/messages/${m.id}/receipts`)).status, 401);

		const cursors = await api(bob).get(`/api/messages/${g.id}/receipts`);
		assert.equal(cursors.status, 200, JSON.stringify(cursors.body));
		assert.deepEqual(cursors.body.items.map((r: { userId: string }) => r.userId).sort(), sorted([alice, bob]));
		assert.equal((await api(outsider).get(`/api/messages/${g.id}/receipts`)).status, 404);

		assert.equal((await api(bob).del(`/api/groups/${g.id}/members/${bob.user.id}`)).status, 200);
		assert.equal((await api(bob).get(`/api/messages/${m.id}/receipts`)).status, 404);
	});

	test("a group of 1,000 members answers in one response", async () => {
		const others = await Promise.all(
			Array.from({ length: 999 }, (_, i) =>
				t.app.broker.call<{ id: string }, { username: string }>("users.create", { username: `many${process.pid % 1000}_${i}` })
			)
		);
		const ids = others.map(u => u.id);
		const g = await api(alice).post("/api/groups", { name: "Everyone", memberIds: ids });
		assert.equal(g.status, 201, JSON.stringify(g.body).slice(0, 300));
		assert.equal(g.body.memberCount, 1000);
		const m = (await api(alice).post("/api/messages", { groupId: g.body.id, content: "all hands" })).body as Message;
		const lists = await receiptsOf(alice, m.id);
		assert.deepEqual([lists.seenBy.length, lists.deliveredTo.length, lists.pending.length], [0, 0, 999]);
		assert.deepEqual(lists.pending, [...ids].sort());
	});
});
