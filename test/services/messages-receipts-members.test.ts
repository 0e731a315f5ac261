import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Collection } from "../../mixins/db.mixin.ts";
import { cursorId, type CursorDoc } from "../../services/messages/documents.ts";
import { useTestApp, type TestUser } from "../helpers/app.ts";
import { emitWithAck } from "../helpers/socket.ts";

/**
 * Receipts and "mark as unread" move a member's cursor, which exists from their joining to their leaving:
 * one whose cursor is gone is no member (a removal under way, its membership still cached), and what they
 * send is refused as every non-member's request is, without bringing the cursor back.
 */
describe("receipts and markers of someone without a cursor", () => {
	const f = useTestApp(["alice", "bob", "carol"]);
	let alice: TestUser, bob: TestUser, carol: TestUser;
	let cursors: Collection<CursorDoc>;
	before(() => {
		[alice, bob, carol] = f.users;
		cursors = (f.app.broker.getLocalService("messages") as unknown as { db: { cursors: Collection<CursorDoc> } }).db.cursors;
	});

	test("seen, delivered and unread answer 404 and create no cursor; receipts go on without them", async () => {
		const g = await f.group(alice, "Cursors", [bob, carol]);
		const first = await f.send(alice, g, "one");
		assert.equal((await f.api(bob).get(`/api/messages/${g}`)).status, 200, "bob's membership is cached as a member's");
		const socket = await f.connect(bob);
		// What a removal's messages side does before the membership caches are clean.
		await f.app.broker.call("messages.membersChanged", { groupId: g, added: [], removed: [bob.user.id] });

		for (const [what, path, body] of [
			["seen", "seen", { seq: first.seq }],
			["delivered", "delivered", { messageId: first.id }],
			["unread", "unread", { seq: first.seq }]
		] as const) {
			const res = await f.api(bob).post(`/api/messages/${g}/${path}`, body);
			assert.equal(res.status, 404, `${what}: ${JSON.stringify(res.body)}`);
			assert.equal(res.body.type, "NOT_FOUND");
		}
		const ack = await emitWithAck(socket, "chat.message.seen", { groupId: g, seq: first.seq });
		assert.equal(ack.error?.code, 404, JSON.stringify(ack));
		assert.equal(await cursors.findById(cursorId(g, bob.user.id)), null, "no cursor came back");

		const receipts = (await f.api(alice).get(`/api/messages/${g}/receipts`)).body.items.map((r: { userId: string }) => r.userId);
		assert.deepEqual(receipts.sort(), [alice.user.id, carol.user.id].sort());
		const second = await f.send(alice, g, "two");
		assert.equal((await f.api(carol).post(`/api/messages/${g}/seen`, { seq: second.seq })).status, 200);
		const [last] = (await f.api(alice).get(`/api/messages/${g}?after=${second.seq - 1}`)).body.items;
		assert.equal(last.status, "seen", "every member with a cursor has seen it");
		assert.deepEqual((await f.api(alice).get(`/api/messages/${second.id}/receipts`)).body.pending, []);
	});
});
