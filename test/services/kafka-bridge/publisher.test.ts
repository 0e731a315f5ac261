import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProducerBatch } from "kafkajs";
import type { EventEnvelope, PendingEntry } from "../../../lib/outbox.ts";
import {
	combineBacklogs,
	groupAcks,
	OutboxPublisher,
	topicMessages,
	type OutboxPage,
	type PublisherOptions
} from "../../../services/kafka-bridge/publisher.ts";

const id = (n: number) => n.toString(16).padStart(24, "0");

function entry(n: number, type: EventEnvelope["type"], groupId: string, collection = "messages", docId = `d${n}`): PendingEntry {
	const payload = type === "message.seen" ? { userId: "u1", seq: n } : { message: { seq: n } };
	return { collection, docId, event: { id: id(n), type, version: 1, occurredAt: new Date(0).toISOString(), groupId, payload } as EventEnvelope };
}

describe("topicMessages", () => {
	test("records go to their topic under the prefix, keyed by conversation, in the order given", () => {
		const entries = [
			entry(1, "message.created", "g1"),
			entry(2, "message.seen", "g1", "cursors"),
			entry(3, "group.updated", "g2", "groups"),
			entry(4, "message.created", "g2")
		];
		const batches = topicMessages(entries, "chat.");
		assert.deepEqual(
			batches.map(b => [b.topic, b.messages.map(m => m.key)]),
			[
				["chat.messages", ["g1", "g2"]],
				["chat.receipts", ["g1"]],
				["chat.groups", ["g2"]]
			]
		);
		const [first] = batches[0].messages;
		assert.deepEqual(JSON.parse(first.value as string), entries[0].event);
		assert.deepEqual(first.headers, { "event-id": id(1), "event-type": "message.created", "event-version": "1" });
		assert.deepEqual(topicMessages([], "chat."), []);
	});
});

describe("groupAcks", () => {
	test("one acknowledgement per document, its event ids in order; the same id in two collections stays apart", () => {
		const entries = [
			entry(1, "message.created", "g1", "messages", "a"),
			entry(2, "message.seen", "g1", "cursors", "a"),
			entry(3, "message.deleted", "g1", "messages", "a")
		];
		assert.deepEqual(groupAcks(entries), [
			{ collection: "messages", docId: "a", ids: [id(1), id(3)] },
			{ collection: "cursors", docId: "a", ids: [id(2)] }
		]);
	});
});

describe("combineBacklogs", () => {
	test("documents add up; the lag is the age of the oldest event of any owner", () => {
		const now = 1_000_000;
		const oldest = (now - 4500).toString(16).padStart(12, "0") + "0".repeat(12);
		const newer = (now - 1000).toString(16).padStart(12, "0") + "0".repeat(12);
		assert.deepEqual(
			combineBacklogs(
				[
					{ documents: 2, oldestEventId: newer },
					{ documents: 3, oldestEventId: oldest }
				],
				now
			),
			{ documents: 5, lagSeconds: 4.5 }
		);
		assert.deepEqual(
			combineBacklogs(
				[
					{ documents: 0, oldestEventId: null },
					{ documents: 0, oldestEventId: null }
				],
				now
			),
			{ documents: 0, lagSeconds: 0 }
		);
	});

	test("an event stamped by a clock running ahead shows no negative lag", () => {
		const ahead = (2_000_000).toString(16).padStart(12, "0") + "0".repeat(12);
		assert.equal(combineBacklogs([{ documents: 1, oldestEventId: ahead }], 1_000_000).lagSeconds, 0);
	});
});

describe("OutboxPublisher", () => {
	/** Owners answering from in-memory outboxes, and a producer that records (or refuses) what it is sent. */
	function harness(pages: Record<string, OutboxPage[]>, opts: { leader?: boolean; failSends?: number } = {}) {
		const log: string[] = [];
		const sent: ProducerBatch[] = [];
		let failSends = opts.failSends ?? 0;
		const producer = {
			connect: async () => void log.push("connect"),
			disconnect: async () => void log.push("disconnect"),
			sendBatch: async (batch: ProducerBatch) => {
				if (failSends-- > 0) {
					log.push("send failed");
					throw new Error("broker not available");
				}
				log.push(`send ${batch.topicMessages!.map(t => `${t.topic}:${t.messages.length}`).join(",")}`);
				sent.push(batch);
				return [];
			}
		};
		const broker = {
			isMetricsEnabled: () => false,
			call: async (action: string, params: { entries?: { ids: string[] }[] }) => {
				const [owner, name] = action.split(".");
				if (name === "outboxPending") return pages[owner]?.shift() ?? { entries: [], more: false };
				if (name === "outboxAck") return void log.push(`ack ${owner} ${params.entries!.flatMap(e => e.ids.map(i => parseInt(i, 16))).join(",")}`);
				if (name === "outboxBacklog") return { documents: 0, oldestEventId: null };
				throw new Error(`unexpected call ${action}`);
			}
		};
		const warnings: string[] = [];
		const options = {
			config: { brokers: ["kafka:9092"], topicPrefix: "chat.", clientId: "test", inboundBots: [], pollIntervalMs: 60_000, idempotent: true },
			client: { producer: () => producer },
			broker,
			logger: { info: () => undefined, warn: (message: string) => void warnings.push(message) },
			isLeader: () => opts.leader ?? true
		} as unknown as PublisherOptions;
		return { publisher: new OutboxPublisher(options), log, sent, warnings };
	}

	test("publishes every owner's page in one batch and has the owners remove the events only after Kafka acknowledged them", async () => {
		const { publisher, log, sent } = harness({
			messages: [{ entries: [entry(1, "message.created", "g1"), entry(3, "message.seen", "g1", "cursors")], more: false }],
			groups: [{ entries: [entry(2, "group.created", "g1", "groups")], more: false }]
		});
		try {
			await publisher.pump();
			assert.deepEqual(log, ["connect", "send chat.messages:1,chat.receipts:1,chat.groups:1", "ack messages 1,3", "ack groups 2"]);
			assert.equal(sent[0].acks, -1, "every in-sync replica has it");
			const stats = publisher.stats();
			assert.equal(stats.published, 3);
			assert.ok(stats.lastPublishedAt);
			assert.equal(stats.consecutiveFailures, 0);
		} finally {
			await publisher.stop();
		}
	});

	test("a full page is followed by the next one at once, each acknowledged before the next is read", async () => {
		const { publisher, log } = harness({
			messages: [
				{ entries: [entry(1, "message.created", "g1"), entry(2, "message.created", "g1")], more: true },
				{ entries: [entry(3, "message.created", "g1")], more: false }
			]
		});
		try {
			await publisher.pump();
			assert.deepEqual(log, ["connect", "send chat.messages:2", "ack messages 1,2", "send chat.messages:1", "ack messages 3"]);
			assert.equal(publisher.stats().published, 3);
		} finally {
			await publisher.stop();
		}
	});

	test("when Kafka refuses, nothing is acknowledged, the producer is dropped and the failure counted; the next run sends it", async () => {
		const page = () => ({ entries: [entry(1, "message.created", "g1")], more: false });
		const { publisher, log, warnings } = harness({ messages: [page(), page()] }, { failSends: 1 });
		try {
			await publisher.pump();
			assert.deepEqual(log, ["connect", "send failed", "disconnect"]);
			const failed = publisher.stats();
			assert.equal(failed.consecutiveFailures, 1);
			assert.equal(failed.lastError?.message, "broker not available");
			assert.equal(failed.published, 0);
			assert.match(warnings[0], /publishing failed \(1x, retrying in \d+ ms\)/);

			await publisher.pump();
			assert.deepEqual(log.slice(3), ["connect", "send chat.messages:1", "ack messages 1"]);
			assert.equal(publisher.stats().consecutiveFailures, 0);
			assert.equal(publisher.stats().published, 1);
		} finally {
			await publisher.stop();
		}
	});

	test("a bridge that does not lead reads nothing and holds no producer", async () => {
		const { publisher, log } = harness({ messages: [{ entries: [entry(1, "message.created", "g1")], more: false }] }, { leader: false });
		try {
			await publisher.pump();
			assert.deepEqual(log, []);
			assert.equal(publisher.stats().published, 0);
		} finally {
			await publisher.stop();
		}
	});

	test("a nudge while a run is under way runs once more right after it", async () => {
		const { publisher, log } = harness({
			messages: [
				{ entries: [entry(1, "message.created", "g1")], more: false },
				{ entries: [entry(2, "message.created", "g1")], more: false }
			]
		});
		try {
			const running = publisher.pump();
			const nudged = publisher.pump();
			assert.equal(nudged, running, "one run at a time");
			await running;
			assert.deepEqual(log, ["connect", "send chat.messages:1", "ack messages 1", "send chat.messages:1", "ack messages 2"]);
		} finally {
			await publisher.stop();
		}
	});

	test("after stopping, nothing is scheduled and nothing is sent", async () => {
		const { publisher, log } = harness({ messages: [{ entries: [entry(1, "message.created", "g1")], more: false }] });
		await publisher.stop();
		publisher.schedule(0);
		await new Promise(resolve => setTimeout(resolve, 30));
		assert.deepEqual(log, []);
	});
});
