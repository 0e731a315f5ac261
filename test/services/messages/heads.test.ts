import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Collection } from "../../../mixins/db.mixin.ts";
import { Cursors } from "../../../services/messages/cursors.ts";
import type { CursorDoc, HeadDoc, MessageDoc } from "../../../services/messages/documents.ts";
import { Heads } from "../../../services/messages/heads.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";
import { messageDoc, messageLog } from "./fixtures.ts";

async function setup() {
	const log = await messageLog();
	const heads = await memoryCollection<HeadDoc>("heads");
	const cursorDocs = await memoryCollection<CursorDoc>("cursors");
	const cursors = new Cursors(cursorDocs, () => null);
	const failures: unknown[] = [];
	const model = new Heads({ log, heads, cursors, onFlushError: reason => failures.push(reason), flushDelayMs: 60_000 });
	return { log, heads, cursorDocs, cursors, model, failures };
}

async function append(log: Collection<MessageDoc>, groupId: string, from: number, to: number, senderId = "alice"): Promise<void> {
	for (let seq = from; seq <= to; seq++) await log.insert(messageDoc(groupId, seq, { senderId }));
}

describe("Heads", () => {
	test("latestMessages reads on from a head hint that lags the log by several messages", async () => {
		const { log, heads, model } = await setup();
		await append(log, "g", 1, 7);
		await heads.insert({ _id: "g", lastSeq: 3 });
		assert.equal((await model.latestMessages(["g"])).get("g")?.seq, 7);
	});

	test("latestMessages without a hint starts from the first message; an empty conversation has none", async () => {
		const { log, model } = await setup();
		await append(log, "g", 1, 4);
		const latest = await model.latestMessages(["g", "empty"]);
		assert.equal(latest.get("g")?.seq, 4);
		assert.equal(latest.has("empty"), false);
		assert.equal(await model.lastSeq("empty"), 0);
	});

	test("latestMessages with an exact hint needs no reading on, for many conversations at once", async () => {
		const { log, heads } = await setup();
		await append(log, "a", 1, 5);
		await append(log, "b", 1, 2);
		await heads.insert({ _id: "a", lastSeq: 5 });
		await heads.insert({ _id: "b", lastSeq: 2 });
		let readOn = 0;
		const counting = new Heads({
			log: { find: (q, o) => log.find(q, o), findOne: q => (readOn++, log.findOne(q)) },
			heads,
			cursors: { ofViewer: async () => [], deferRead: () => undefined, takeDeferred: () => [] },
			onFlushError: () => undefined
		});
		const latest = await counting.latestMessages(["a", "b"]);
		assert.deepEqual([latest.get("a")?.seq, latest.get("b")?.seq], [5, 2]);
		assert.equal(readOn, 0);
	});

	test("a flush writes the head (only ever forward) and the sender's read cursor", async () => {
		const { log, heads, cursorDocs, cursors, model } = await setup();
		await append(log, "g", 1, 3);
		await cursors.startAt("g", ["alice"], 0);
		for (const seq of [1, 3, 2]) model.deferAfterSend(messageDoc("g", seq, { senderId: "alice" }));
		await model.flush();
		assert.deepEqual(await heads.findById("g"), { _id: "g", lastSeq: 3 });
		assert.equal((await cursorDocs.findById("g:alice"))?.readSeq, 3);
		model.deferAfterSend(messageDoc("g", 2, { senderId: "alice" }));
		await model.flush();
		assert.equal((await heads.findById("g"))?.lastSeq, 3, "a late write never moves the head back");
	});

	test("a busy conversation writes its head once per stride; the node that stored the messages reads no further", async () => {
		const { log, heads } = await setup();
		let headWrites = 0;
		const counting: Pick<Collection<HeadDoc>, "findByIds" | "findById" | "updateMany" | "insertIfAbsent"> = {
			findByIds: ids => heads.findByIds(ids),
			findById: id => heads.findById(id),
			updateMany: (q, u) => (headWrites++, heads.updateMany(q, u)),
			insertIfAbsent: doc => heads.insertIfAbsent(doc)
		};
		let logReads = 0;
		const model = new Heads({
			log: { find: (q, o) => (logReads++, log.find(q, o)), findOne: q => log.findOne(q) },
			heads: counting,
			cursors: { ofViewer: async () => [], deferRead: () => undefined, takeDeferred: () => [] },
			onFlushError: () => undefined,
			flushDelayMs: 60_000,
			headStride: 10
		});
		for (let seq = 1; seq <= 35; seq++) {
			await log.insert(messageDoc("g", seq));
			model.deferAfterSend(messageDoc("g", seq));
			if (seq % 5 === 0) await model.flush(false);
		}
		assert.equal((await heads.findById("g"))?.lastSeq, 35);
		assert.equal(headWrites, 5, "written at flushes after seqs 1, 15, 25 and 35 (the first one creates the head)");
		logReads = 0;
		assert.equal(await model.lastSeq("g"), 35);
		assert.equal(logReads, 1, "this node knows its last seq: one probe");
		for (let seq = 36; seq <= 38; seq++) {
			await log.insert(messageDoc("g", seq));
			model.deferAfterSend(messageDoc("g", seq));
		}
		await model.flush(false);
		assert.equal((await heads.findById("g"))?.lastSeq, 35, "within the stride the head is not rewritten");
		await model.flush();
		assert.equal((await heads.findById("g"))?.lastSeq, 38, "stopping writes every head up to date");
	});

	test("another node reads on from a head that lags by many seqs, a batch of seqs per query", async () => {
		const { log, heads } = await setup();
		await append(log, "a", 1, 150);
		await append(log, "b", 1, 3);
		await heads.insert({ _id: "a", lastSeq: 2 });
		let logReads = 0;
		const other = new Heads({
			log: { find: (q, o) => (logReads++, log.find(q, o)), findOne: q => log.findOne(q) },
			heads,
			cursors: { ofViewer: async () => [], deferRead: () => undefined, takeDeferred: () => [] },
			onFlushError: () => undefined,
			headStride: 64
		});
		const latest = await other.latestMessages(["a", "b", "none"]);
		assert.deepEqual([latest.get("a")?.seq, latest.get("b")?.seq, latest.has("none")], [150, 3, false]);
		assert.ok(logReads <= 6, `${logReads} queries to read on 148 seqs`);
	});

	test("a viewer has read their own messages, even while the cursor write is pending", async () => {
		const { log, cursors, model } = await setup();
		await append(log, "g", 1, 2, "alice");
		await log.insert(messageDoc("g", 3, { senderId: "bob" }));
		await cursors.startAt("g", ["alice", "bob"], 0);
		await cursors.advance("g", "bob", "deliveredSeq", 1);
		model.deferAfterSend(messageDoc("g", 2, { senderId: "alice" }));
		const [alice] = await model.forViewer(["g"], "alice", "secret");
		assert.deepEqual([alice.lastSeq, alice.readSeq, alice.deliveredSeq, alice.lastMessage?.seq], [3, 2, 2, 3]);
		const [bob] = await model.forViewer(["g"], "bob", "secret");
		assert.deepEqual([bob.lastSeq, bob.readSeq, bob.deliveredSeq], [3, 3, 3], "the last message is bob's own");
		const [nothing] = await model.forViewer(["none"], "bob", "secret");
		assert.deepEqual(nothing, { groupId: "none", lastSeq: 0, readSeq: 0, deliveredSeq: 0, unreadFrom: null, lastMessage: null, lastActivityAt: null });
		await model.flush();
	});

	test("a deferred read counts in receipts and cursors until stored; a member removed meanwhile gets no cursor back", async () => {
		const { cursorDocs, cursors, model } = await setup();
		await cursors.startAt("g", ["alice", "bob", "carol"], 0);
		model.deferAfterSend(messageDoc("g", 1, { senderId: "bob" }));
		model.deferAfterSend(messageDoc("g", 2, { senderId: "carol" }));
		const readSeqs = async () => Object.fromEntries((await cursors.receiptsOf("g")).map(r => [r.userId, r.readSeq]));
		assert.deepEqual(await readSeqs(), { alice: 0, bob: 1, carol: 2 });
		assert.equal((await cursorDocs.findById("g:bob"))?.readSeq, 0, "not written yet");
		assert.equal(await cursors.advance("g", "bob", "readSeq", 1), false, "already there");
		assert.deepEqual(
			(await cursors.ofViewer(["g"], "bob")).map(c => [c.readSeq, c.deliveredSeq]),
			[[1, 1]]
		);
		await cursors.drop("g", ["carol"]);
		await model.flush();
		assert.equal((await cursorDocs.findById("g:bob"))?.readSeq, 1);
		assert.equal(await cursorDocs.findById("g:carol"), null, "carol left before the flush");
		assert.deepEqual(await readSeqs(), { alice: 0, bob: 1 });
	});
});
