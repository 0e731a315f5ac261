import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DuplicateKeyError } from "../../../mixins/db.mixin.ts";
import type { MessageDoc } from "../../../services/messages/documents.ts";
import { Sequencer, type SequencedLog } from "../../../services/messages/sequencer.ts";
import { maxSeq, messageDoc, messageLog } from "./fixtures.ts";

/** Stores one message of `groupId`, announcing nothing unless told. */
function send(sequencer: Sequencer, groupId: string, options: { extra?: Partial<MessageDoc>; onStored?: (doc: MessageDoc) => void } = {}) {
	return sequencer.store(groupId, seq => messageDoc(groupId, seq, options.extra), options.onStored ?? (() => undefined));
}

describe("Sequencer", () => {
	test("concurrent sends to one conversation get serial, gapless seqs, announced in seq order", async () => {
		const log = await messageLog();
		const sequencer = new Sequencer(log, g => maxSeq(log, g));
		const announced: number[] = [];
		const stored = await Promise.all(Array.from({ length: 30 }, () => send(sequencer, "g1", { onStored: doc => announced.push(doc.seq) })));
		const seqs = stored.map(s => s.doc.seq);
		const serial = Array.from({ length: 30 }, (_, i) => i + 1);
		assert.deepEqual(
			[...seqs].sort((a, b) => a - b),
			serial
		);
		assert.deepEqual(announced, serial);
		assert.ok(stored.every(s => !s.duplicate));
		assert.equal(await log.count({ groupId: "g1" }), 30);
	});

	test("conversations do not wait on one another", async () => {
		const log = await messageLog();
		let release!: () => void;
		const gate = new Promise<void>(resolve => (release = resolve));
		const slowForA: SequencedLog = {
			insert: async (doc: MessageDoc) => {
				if (doc.groupId === "a") await gate;
				return log.insert(doc);
			},
			findOne: q => log.findOne(q)
		};
		const sequencer = new Sequencer(slowForA, g => maxSeq(log, g));
		let aDone = false;
		const a = send(sequencer, "a").then(r => ((aDone = true), r));
		const b = await send(sequencer, "b");
		assert.equal(b.doc.seq, 1);
		assert.equal(aDone, false, "a is still waiting for its store");
		release();
		assert.equal((await a).doc.seq, 1);
	});

	test("a seq taken by another node makes it read the store again and retry", async () => {
		const log = await messageLog();
		const sequencer = new Sequencer(log, g => maxSeq(log, g));
		await send(sequencer, "g");
		// Another node (during a rebalance) stores seq 2 behind this node's cache.
		await log.insert(messageDoc("g", 2));
		const tried: number[] = [];
		const announced: number[] = [];
		const { doc, duplicate } = await sequencer.store(
			"g",
			seq => (tried.push(seq), messageDoc("g", seq)),
			d => announced.push(d.seq)
		);
		assert.deepEqual(tried, [2, 3]);
		assert.equal(doc.seq, 3);
		assert.equal(duplicate, false);
		assert.deepEqual(announced, [3], "only the stored copy is announced");
	});

	test("a retried send (same clientKey) returns the first copy and stores nothing", async () => {
		const log = await messageLog();
		const sequencer = new Sequencer(log, g => maxSeq(log, g));
		const retried = { clientKey: "u:c1", clientMessageId: "c1" };
		const first = await send(sequencer, "g", { extra: retried });
		let announced = 0;
		const again = await send(sequencer, "g", { extra: retried, onStored: () => announced++ });
		assert.equal(again.duplicate, true);
		assert.equal(again.doc._id, first.doc._id);
		assert.equal(announced, 0);
		assert.equal(await log.count({ groupId: "g" }), 1);
		assert.equal((await sequencer.firstCopy("u:c1"))?._id, first.doc._id);
		assert.equal(await sequencer.firstCopy("u:other"), null);
	});

	test("gives up with a retryable 503 when every seq it tries is taken", async () => {
		const log = await messageLog();
		const alwaysTaken: SequencedLog = {
			insert: async () => {
				throw new DuplicateKeyError("messages", new Error("taken"));
			},
			findOne: q => log.findOne(q)
		};
		const sequencer = new Sequencer(alwaysTaken, async () => 0);
		await assert.rejects(
			send(sequencer, "g"),
			(err: { code: number; type: string; retryable: boolean }) => err.code === 503 && err.type === "SEQUENCE_CONFLICT" && err.retryable
		);
	});

	test("a failed store does not block the conversation's next send", async () => {
		const log = await messageLog();
		let fail = true;
		const flaky: SequencedLog = {
			insert: async (doc: MessageDoc) => {
				if (fail) throw new Error("disk full");
				return log.insert(doc);
			},
			findOne: q => log.findOne(q)
		};
		const sequencer = new Sequencer(flaky, g => maxSeq(log, g));
		await assert.rejects(send(sequencer, "g"), /disk full/);
		fail = false;
		assert.equal((await send(sequencer, "g")).doc.seq, 1);
	});

	test("a conversation's queue is bounded: the next send is refused at once, other conversations and later sends go through", async () => {
		const log = await messageLog();
		let release!: () => void;
		const gate = new Promise<void>(resolve => (release = resolve));
		const stuck: SequencedLog = {
			insert: async (doc: MessageDoc) => {
				if (doc.groupId === "busy") await gate;
				return log.insert(doc);
			},
			findOne: q => log.findOne(q)
		};
		const sequencer = new Sequencer(stuck, g => maxSeq(log, g), { maxQueued: 3 });
		const queued = Array.from({ length: 3 }, () => send(sequencer, "busy"));
		const isOverloaded = (err: { code: number; type: string; data: { retryAfterMs: number } }) =>
			err.code === 503 && err.type === "SERVICE_OVERLOADED" && err.data.retryAfterMs > 0;
		assert.throws(() => sequencer.admit("busy"), isOverloaded);
		await assert.rejects(send(sequencer, "busy"), isOverloaded);
		assert.equal((await send(sequencer, "quiet")).doc.seq, 1, "another conversation is not held up");
		release();
		assert.deepEqual((await Promise.all(queued)).map(r => r.doc.seq).sort(), [1, 2, 3]);
		sequencer.admit("busy");
		assert.equal((await send(sequencer, "busy")).doc.seq, 4, "the refused send consumed no seq");
	});
	test("the next send takes its seq while the previous one is being written; each is announced and answered after its write, in seq order", async () => {
		const log = await messageLog();
		const writes: (() => void)[] = [];
		const pipelined: SequencedLog = {
			findOne: q => log.findOne(q),
			insert: doc => log.insert(doc),
			insertQueued: async doc => {
				await log.insert(doc);
				return { doc, written: new Promise<void>(resolve => writes.push(resolve)) };
			}
		};
		const sequencer = new Sequencer(pipelined, g => maxSeq(log, g));
		const events: string[] = [];
		const sends = [1, 2, 3].map(() =>
			send(sequencer, "g", { onStored: doc => events.push(`announced ${doc.seq}`) }).then(r => events.push(`answered ${r.doc.seq}`))
		);
		while (writes.length < 3) await new Promise(resolve => setImmediate(resolve));
		assert.deepEqual(events, [], "all three hold their seqs, none is announced before its write");
		for (const write of writes) write();
		await Promise.all(sends);
		assert.deepEqual(events, ["announced 1", "announced 2", "announced 3", "answered 1", "answered 2", "answered 3"]);
	});
});
