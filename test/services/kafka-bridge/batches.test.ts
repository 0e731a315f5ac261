import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProducerBatch } from "kafkajs";
import type { EventEnvelope, PendingEntry } from "../../../lib/outbox.ts";
import { nextBatch, recordOf, truncatedEvent, TRUNCATED_VERSION } from "../../../services/kafka-bridge/batches.ts";
import { OutboxPublisher, type PublisherOptions } from "../../../services/kafka-bridge/publisher.ts";

const id = (n: number) => n.toString(16).padStart(24, "0");

/** A message event whose content is `size` characters. */
function created(n: number, groupId: string, size = 10, docId = `d${n}`): PendingEntry {
	const event = {
		id: id(n),
		type: "message.created",
		version: 1,
		occurredAt: new Date(0).toISOString(),
		groupId,
		payload: { message: { seq: n, content: "x".repeat(size) } }
	};
	return { collection: "messages", docId, event: event as unknown as EventEnvelope };
}

function seen(n: number, groupId: string): PendingEntry {
	const event = { id: id(n), type: "message.seen", version: 1, occurredAt: new Date(0).toISOString(), groupId, payload: { userId: "u1", seq: n } };
	return { collection: "cursors", docId: `c${n}`, event: event as unknown as EventEnvelope };
}

function groupEvent(n: number, groupId: string, members: number): PendingEntry {
	const memberIds = Array.from({ length: members }, (_, i) => id(1_000_000 + i));
	const group = { id: groupId, type: "group", name: "All hands", members: memberIds.map(userId => ({ userId, role: "member" })), memberCount: members };
	const event = { id: id(n), type: "group.updated", version: 1, occurredAt: new Date(0).toISOString(), groupId, payload: { group, memberIds, actorId: "u1" } };
	return { collection: "groups", docId: groupId, event: event as unknown as EventEnvelope };
}

const bytesOf = (entry: PendingEntry) => recordOf(entry.event, "chat.").bytes;
const seqs = (entries: PendingEntry[]) => entries.map(e => parseInt(e.event.id, 16));

describe("nextBatch", () => {
	test("everything goes out at once when it fits", () => {
		const entries = [created(1, "g1"), seen(2, "g1"), created(3, "g2")];
		const batch = nextBatch(entries, "chat.", 1_000_000);
		assert.deepEqual(batch.entries, entries);
		assert.deepEqual(
			batch.topicMessages.map(t => [t.topic, t.messages.length]),
			[
				["chat.messages", 2],
				["chat.receipts", 1]
			]
		);
		assert.deepEqual(batch.truncated, []);
	});

	test("a batch stops before the record that would take it over the cap; what is left is read again next time", () => {
		const entries = Array.from({ length: 10 }, (_, i) => created(i + 1, "g1", 1000));
		const one = bytesOf(entries[0]);
		const cap = one * 3 + one / 2;
		const batches: PendingEntry[][] = [];
		let left = entries;
		while (left.length > 0) {
			const batch = nextBatch(left, "chat.", cap);
			assert.ok(batch.bytes <= cap, `${batch.bytes} > ${cap}`);
			assert.equal(
				batch.topicMessages.reduce((n, t) => n + t.messages.reduce((m, r) => m + Buffer.byteLength(r.value as string), 0), 0) < batch.bytes,
				true,
				"the estimate counts more than the values"
			);
			batches.push(batch.entries);
			left = left.slice(batch.entries.length);
		}
		assert.deepEqual(batches.map(seqs), [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]);
	});

	test("collections are merged by id, each taken from its start, so receipts never wait behind a backlog of messages", () => {
		// The owners' pages come collection after collection: messages first, then cursors.
		const entries = [created(1, "g1", 1000), created(3, "g1", 1000), created(5, "g1", 1000), seen(2, "g1"), seen(4, "g1"), seen(6, "g1")];
		const cap = bytesOf(entries[0]) * 2 + bytesOf(entries[3]) * 2 + 10;
		const batch = nextBatch(entries, "chat.", cap);
		assert.deepEqual(seqs(batch.entries), [1, 3, 2, 4], "in the order given");
		assert.deepEqual(
			batch.topicMessages.map(t => [
				t.topic,
				t.messages.map(m => JSON.parse(m.value as string).payload.seq ?? JSON.parse(m.value as string).payload.message.seq)
			]),
			[
				["chat.messages", [1, 3]],
				["chat.receipts", [2, 4]]
			]
		);
	});

	test("an event over the cap alone goes out truncated when it comes first, and ends the batch when it does not", () => {
		const big = groupEvent(2, "g1", 2000);
		const cap = 100 * 1024;
		assert.ok(bytesOf(big) > cap);
		const first = nextBatch([created(1, "g1"), { ...big }, created(3, "g1")], "chat.", cap);
		assert.deepEqual(seqs(first.entries), [1], "the big one waits for a batch of its own");

		const alone = nextBatch([big, created(3, "g1")], "chat.", cap);
		assert.deepEqual(seqs(alone.entries), [2, 3], "the stream goes on after it");
		assert.deepEqual(alone.truncated, [{ id: id(2), type: "group.updated", bytes: bytesOf(big) }]);
		assert.ok(alone.bytes <= cap);
		const [groups] = alone.topicMessages;
		const sent = JSON.parse(groups.messages[0].value as string);
		assert.equal(groups.messages[0].headers!["event-version"], String(TRUNCATED_VERSION));
		assert.deepEqual(sent.truncated, ["payload.group.members", "payload.memberIds"]);
		assert.deepEqual(sent.payload, { group: { id: "g1", type: "group", name: "All hands", memberCount: 2000 }, actorId: "u1" });
		assert.deepEqual([sent.id, sent.type, sent.groupId, sent.version], [id(2), "group.updated", "g1", 2]);
	});
});

describe("truncatedEvent", () => {
	test("without member lists, then with only plain values, then without a payload: the first that fits", () => {
		const event = groupEvent(2, "g1", 20).event;
		assert.ok(recordOf(event, "chat.").bytes > 2000);
		const withoutMembers = truncatedEvent(event, "chat.", 500);
		assert.deepEqual(withoutMembers.event.truncated, ["payload.group.members", "payload.memberIds"]);
		assert.ok(withoutMembers.record.bytes <= 500);
		const message = created(1, "g1", 100).event;
		(message.payload as any).message.attachments = Array.from({ length: 10 }, (_, i) => ({ id: id(i), name: "plan.pdf" }));
		(message.payload as any).message.replyTo = { id: "m0", excerpt: "hi" };
		assert.ok(recordOf(message, "chat.").bytes > 800);
		const small = truncatedEvent(message, "chat.", 600);
		assert.deepEqual(small.event.truncated, ["payload.message.attachments", "payload.message.replyTo"]);
		assert.deepEqual(small.event.payload, { message: { seq: 1, content: "x".repeat(100) } });
		const none = truncatedEvent(created(1, "g1", 1000).event, "chat.", 400);
		assert.deepEqual([none.event.truncated, none.event.payload], [["payload"], {}]);
		assert.ok(none.record.bytes <= 400);
	});
});

describe("OutboxPublisher within KAFKA_MAX_BATCH_BYTES", () => {
	/** Owners holding real outboxes in memory (pending lists that acknowledgements shrink) and a producer that records each batch. */
	function harness(pending: Record<string, PendingEntry[]>, maxBatchBytes: number) {
		const sends: ProducerBatch[] = [];
		const acks: number[][] = [];
		const warnings: string[] = [];
		const producer = {
			connect: async () => undefined,
			disconnect: async () => undefined,
			sendBatch: async (batch: ProducerBatch) => void sends.push(batch)
		};
		const broker = {
			isMetricsEnabled: () => false,
			call: async (action: string, params: { entries?: { ids: string[] }[] }) => {
				const [owner, name] = action.split(".");
				const list = pending[owner] ?? [];
				if (name === "outboxPending") return { entries: [...list], more: false };
				if (name === "outboxAck") {
					const ids = new Set(params.entries!.flatMap(e => e.ids));
					acks.push([...ids].map(i => parseInt(i, 16)));
					pending[owner] = list.filter(e => !ids.has(e.event.id));
					return { acked: ids.size };
				}
				if (name === "outboxBacklog") return { documents: 0, oldestEventId: null };
				throw new Error(`unexpected call ${action}`);
			}
		};
		const options = {
			config: { brokers: ["kafka:9092"], topicPrefix: "chat.", clientId: "test", inboundBots: [], pollIntervalMs: 60_000, idempotent: true, maxBatchBytes },
			client: { producer: () => producer },
			broker,
			logger: { info: () => undefined, warn: (message: string) => void warnings.push(message) },
			isLeader: () => true
		} as unknown as PublisherOptions;
		return { publisher: new OutboxPublisher(options), sends, acks, warnings, pending };
	}

	const sentSeqs = (batch: ProducerBatch) => batch.topicMessages!.flatMap(t => t.messages.map(m => JSON.parse(m.value as string).payload.message.seq));

	test("a backlog over the cap goes out in several batches, in order, each acknowledging only what it sent", async () => {
		// One document holding several events (a message edited while Kafka was away) is split across batches too.
		const entries = Array.from({ length: 12 }, (_, i) => created(i + 1, "g1", 2000, i < 6 ? "busy" : `d${i}`));
		const cap = bytesOf(entries[0]) * 5 + 20;
		const { publisher, sends, acks, pending } = harness({ messages: entries }, cap);
		try {
			await publisher.pump();
			assert.deepEqual(sends.map(sentSeqs), [range(1, 5), range(6, 10), range(11, 12)]);
			assert.deepEqual(acks, [range(1, 5), range(6, 10), range(11, 12)]);
			for (const batch of sends) {
				const values = batch.topicMessages!.reduce((n, t) => n + t.messages.reduce((m, r) => m + Buffer.byteLength(r.value as string), 0), 0);
				assert.ok(values <= cap);
			}
			assert.deepEqual(pending.messages, []);
			assert.equal(publisher.stats().published, 12);
			assert.equal(publisher.stats().truncated, 0);
		} finally {
			await publisher.stop();
		}
	});

	test("an event too large for any batch is published truncated, logged and counted; the events after it follow", async () => {
		const { publisher, sends, warnings } = harness({ groups: [groupEvent(1, "g1", 5000), groupEvent(2, "g1", 2)] }, 65_536);
		try {
			await publisher.pump();
			const sent = sends.flatMap(b => b.topicMessages!.flatMap(t => t.messages.map(m => JSON.parse(m.value as string))));
			assert.deepEqual(
				sent.map(e => [parseInt(e.id, 16), e.version, e.payload.memberIds?.length ?? null]),
				[
					[1, 2, null],
					[2, 1, 2]
				]
			);
			assert.equal(publisher.stats().truncated, 1);
			assert.equal(publisher.stats().consecutiveFailures, 0);
			assert.match(warnings[0], new RegExp(`event ${id(1)} \\(group.updated\\) is \\d+ bytes, over KAFKA_MAX_BATCH_BYTES: published truncated`));
		} finally {
			await publisher.stop();
		}
	});
});

function range(from: number, to: number): number[] {
	return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
