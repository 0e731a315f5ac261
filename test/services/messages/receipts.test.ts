import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ReceiptIndex, receiptListsOf, resolveSeq, withReceipts } from "../../../services/messages/receipts.ts";
import { messageDoc, messageLog } from "./fixtures.ts";

const receipt = (userId: string, deliveredSeq: number, readSeq: number) => ({ userId, deliveredSeq, readSeq });

describe("ReceiptIndex", () => {
	test("counts the other members only, whether or not the sender has a cursor", () => {
		const withOwn = new ReceiptIndex([receipt("alice", 5, 5), receipt("bob", 3, 1), receipt("carol", 2, 2)]);
		assert.deepEqual(withOwn.statusOf("alice", 2), { status: "delivered", deliveredCount: 2, seenCount: 1 });
		assert.deepEqual(withOwn.statusOf("alice", 1), { status: "seen", deliveredCount: 2, seenCount: 2 });
		assert.deepEqual(withOwn.statusOf("alice", 4), { status: "sent", deliveredCount: 0, seenCount: 0 });
		const withoutOwn = new ReceiptIndex([receipt("bob", 3, 1), receipt("carol", 2, 2)]);
		assert.deepEqual(withoutOwn.statusOf("alice", 2), { status: "delivered", deliveredCount: 2, seenCount: 1 });
		assert.deepEqual(withoutOwn.statusOf("alice", 3), { status: "sent", deliveredCount: 1, seenCount: 0 });
	});

	test("delivered once every other member has it, seen once every other member read it; reading implies delivery", () => {
		const index = new ReceiptIndex([receipt("alice", 0, 0), receipt("bob", 0, 4), receipt("carol", 4, 0)]);
		assert.deepEqual(index.statusOf("alice", 4), { status: "delivered", deliveredCount: 2, seenCount: 1 });
		const allRead = new ReceiptIndex([receipt("alice", 0, 0), receipt("bob", 0, 4), receipt("carol", 4, 4)]);
		assert.deepEqual(allRead.statusOf("alice", 4), { status: "seen", deliveredCount: 2, seenCount: 2 });
		assert.deepEqual(allRead.statusOf("bob", 4), { status: "sent", deliveredCount: 1, seenCount: 1 }, "alice has not caught up");
	});

	test("alone in the conversation, a message stays sent", () => {
		assert.deepEqual(new ReceiptIndex([receipt("alice", 9, 9)]).statusOf("alice", 1), { status: "sent", deliveredCount: 0, seenCount: 0 });
		assert.deepEqual(new ReceiptIndex([]).statusOf("alice", 1), { status: "sent", deliveredCount: 0, seenCount: 0 });
	});

	test("withReceipts gives each message its sender's view", () => {
		const docs = [messageDoc("g", 1, { senderId: "alice" }), messageDoc("g", 2, { senderId: "bob" })];
		const messages = withReceipts(docs, [receipt("alice", 1, 1), receipt("bob", 2, 2)], "secret");
		assert.deepEqual(
			messages.map(m => [m.seq, m.status]),
			[
				[1, "seen"],
				[2, "sent"]
			]
		);
		assert.deepEqual(withReceipts([], [receipt("alice", 1, 1)], "secret"), []);
	});
});

describe("resolveSeq", () => {
	test("a receipt names a seq up to the last one, or a message of that conversation", async () => {
		const log = await messageLog();
		const m = await log.insert(messageDoc("g", 2));
		const other = await log.insert(messageDoc("h", 1));
		const lastSeq = async () => 3;
		assert.equal(await resolveSeq(log, lastSeq, "g", 3), 3);
		assert.equal(await resolveSeq(log, lastSeq, "g", undefined, m._id), 2);
		await assert.rejects(resolveSeq(log, lastSeq, "g", 4), (err: { code: number }) => err.code === 422);
		await assert.rejects(resolveSeq(log, lastSeq, "g"), (err: { code: number }) => err.code === 422);
		await assert.rejects(
			resolveSeq(log, lastSeq, "g", undefined, other._id),
			(err: { code: number; message: string }) => err.code === 404 && err.message === "Message not found"
		);
	});
});

describe("receiptListsOf", () => {
	test("seen, delivered only, or neither, the sender left out, each list by user id", () => {
		const doc = messageDoc("g", 5, { senderId: "a" });
		const lists = receiptListsOf(doc, [
			{ userId: "e", deliveredSeq: 9, readSeq: 5 },
			{ userId: "a", deliveredSeq: 0, readSeq: 0 },
			{ userId: "d", deliveredSeq: 5, readSeq: 4 },
			{ userId: "b", deliveredSeq: 7, readSeq: 7 },
			{ userId: "c", deliveredSeq: 4, readSeq: 4 },
			{ userId: "f", deliveredSeq: 0, readSeq: 6 }
		]);
		assert.deepEqual(lists, { messageId: doc._id, seenBy: ["b", "e", "f"], deliveredTo: ["d"], pending: ["c"] });
	});
});
