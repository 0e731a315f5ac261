import type { Message, TopicMessages } from "kafkajs";
import type { EventEnvelope, PendingEntry } from "../../lib/outbox.ts";
import { topicOf } from "./topics.ts";

/**
 * Kafka's framing of a record beyond its key, value and headers (lengths, deltas, attributes), counted
 * generously: as if every record opened a RecordBatch of its own (61 bytes of header).
 */
const RECORD_OVERHEAD = 100;

/** The envelope version of an event published without some of its fields (docs/EVENTS.md, "Oversized events"). */
export const TRUNCATED_VERSION = 2;

/** An event too large for a batch on its own, as it is published instead: `truncated` names the fields left out. */
export interface TruncatedEnvelope extends Omit<EventEnvelope, "version" | "payload"> {
	version: typeof TRUNCATED_VERSION;
	payload: Record<string, unknown>;
	truncated: string[];
}

export interface OutboundRecord {
	topic: string;
	message: Message;
	/** What the record adds to a produce request, estimated from above. */
	bytes: number;
}

export interface Batch {
	/** The entries this batch publishes: a prefix of each collection's entries, so order per document and conversation holds. */
	entries: PendingEntry[];
	topicMessages: TopicMessages[];
	bytes: number;
	/** Events published truncated, with the size they would have had. */
	truncated: { id: string; type: string; bytes: number }[];
}

/** One event as a record of its topic, keyed by conversation (one partition keeps a conversation's order). */
export function recordOf(event: EventEnvelope | TruncatedEnvelope, topicPrefix: string): OutboundRecord {
	const message = {
		key: event.groupId,
		value: JSON.stringify(event),
		headers: { "event-id": event.id, "event-type": event.type, "event-version": String(event.version) }
	};
	const headerBytes = Object.entries(message.headers).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
	const bytes = Buffer.byteLength(message.key) + Buffer.byteLength(message.value) + headerBytes + RECORD_OVERHEAD;
	return { topic: topicPrefix + topicOf(event.type), message, bytes };
}

function byTopic(records: readonly OutboundRecord[]): TopicMessages[] {
	const topics = new Map<string, TopicMessages>();
	for (const { topic, message } of records) {
		let batch = topics.get(topic);
		if (!batch) topics.set(topic, (batch = { topic, messages: [] }));
		batch.messages.push(message);
	}
	return [...topics.values()];
}

/** The records of entries by topic, in the order given. */
export function topicMessages(entries: readonly PendingEntry[], topicPrefix: string): TopicMessages[] {
	return byTopic(entries.map(e => recordOf(e.event, topicPrefix)));
}

const isPlain = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);
const isObject = (v: unknown): v is Record<string, unknown> => v != null && typeof v === "object" && !Array.isArray(v);

/** The payload's plain values and those of the objects directly in it (`message`, `group`); the paths of the rest. */
function plainPayload(payload: Record<string, unknown>): { payload: Record<string, unknown>; dropped: string[] } {
	const kept: Record<string, unknown> = {};
	const dropped: string[] = [];
	for (const [key, value] of Object.entries(payload)) {
		if (isPlain(value)) kept[key] = value;
		else if (isObject(value)) {
			const inner: Record<string, unknown> = {};
			for (const [k, v] of Object.entries(value)) {
				if (isPlain(v)) inner[k] = v;
				else dropped.push(`payload.${key}.${k}`);
			}
			kept[key] = inner;
		} else dropped.push(`payload.${key}`);
	}
	return { payload: kept, dropped };
}

/**
 * The form of an event that alone is over `maxBytes`: a group event without its member lists, then, if that
 * is still too large, only plain values of the payload, and at last no payload. Its id, type and place in the
 * stream stay, so consumers see that the change happened and fetch the rest.
 */
export function truncatedEvent(event: EventEnvelope, topicPrefix: string, maxBytes: number): { record: OutboundRecord; event: TruncatedEnvelope } {
	const payload = event.payload as unknown as Record<string, unknown>;
	const withoutMembers = () => {
		const dropped: string[] = [];
		const rest: Record<string, unknown> = { ...payload };
		if (isObject(rest.group) && "members" in rest.group) {
			const { members: _members, ...group } = rest.group;
			rest.group = group;
			dropped.push("payload.group.members");
		}
		if ("memberIds" in rest) {
			delete rest.memberIds;
			dropped.push("payload.memberIds");
		}
		return { payload: rest, dropped };
	};
	const forms = [withoutMembers, () => plainPayload(payload), () => ({ payload: {}, dropped: ["payload"] })];
	let last!: { record: OutboundRecord; event: TruncatedEnvelope };
	for (const form of forms) {
		const { payload: smaller, dropped } = form();
		if (dropped.length === 0) continue;
		const shrunk: TruncatedEnvelope = { ...event, version: TRUNCATED_VERSION, payload: smaller, truncated: dropped };
		last = { record: recordOf(shrunk, topicPrefix), event: shrunk };
		if (last.record.bytes <= maxBytes) break;
	}
	return last;
}

/**
 * The next batch of `entries` (each collection's in publishing order) that fits in `maxBytes`. The collections
 * are merged by event id so that none waits behind another's backlog, and the batch ends before the first
 * record that does not fit: what is left is a suffix of every collection, published by the next batch. A
 * first record too large even alone goes out truncated rather than stopping the stream.
 */
export function nextBatch(entries: readonly PendingEntry[], topicPrefix: string, maxBytes: number): Batch {
	const lists = new Map<string, number[]>();
	entries.forEach((entry, i) => {
		const list = lists.get(entry.collection) ?? [];
		list.push(i);
		lists.set(entry.collection, list);
	});
	const queues = [...lists.values()];
	const next = new Array<number>(queues.length).fill(0);
	const headId = (q: number) => entries[queues[q][next[q]]].event.id;
	const taken: { at: number; record: OutboundRecord }[] = [];
	const truncated: Batch["truncated"] = [];
	let bytes = 0;
	for (;;) {
		let head = -1;
		for (let q = 0; q < queues.length; q++) {
			if (next[q] < queues[q].length && (head < 0 || headId(q) < headId(head))) head = q;
		}
		if (head < 0) break;
		const at = queues[head][next[head]];
		const entry = entries[at];
		let record = recordOf(entry.event, topicPrefix);
		if (bytes + record.bytes > maxBytes) {
			if (taken.length > 0) break;
			truncated.push({ id: entry.event.id, type: entry.event.type, bytes: record.bytes });
			record = truncatedEvent(entry.event, topicPrefix, maxBytes).record;
		}
		next[head]++;
		taken.push({ at, record });
		bytes += record.bytes;
	}
	// In the order given, which the merge kept within each collection.
	taken.sort((a, b) => a.at - b.at);
	return { entries: taken.map(t => entries[t.at]), topicMessages: byTopic(taken.map(t => t.record)), bytes, truncated };
}
