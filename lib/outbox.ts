import type { GroupBase } from "../contract/groups.ts";
import type { EventMessage, EventReaction } from "../contract/messages.ts";
import { newOrderedId } from "./ids.ts";

/**
 * The transactional outbox: an event that must reach the stream is stored inside the document whose
 * change caused it, in the same single-document write (NeDB has no multi-document transactions, and
 * a single-document write is atomic in both stores). `outboxNext` is the smallest pending event id,
 * so "documents with pending events, oldest first" is one range over a sparse index.
 */

export const EVENT_VERSION = 1;

export type StreamEventType =
	| "message.created"
	| "message.deleted"
	| "message.updated"
	| "message.reactions"
	| "message.delivered"
	| "message.seen"
	| "group.created"
	| "group.updated"
	| "group.member.added"
	| "group.member.removed";

export interface GroupEventPayload {
	group: GroupBase;
	memberIds: string[];
	actorId: string;
}

export interface EventPayloads {
	"message.created": { message: EventMessage };
	"message.deleted": { message: EventMessage; actorId: string };
	"message.updated": { message: EventMessage; actorId: string };
	/** A message's reactions after `actorId` put `emoji` on (`on`) or took it off; `version` orders it with the message's other changes. */
	"message.reactions": { messageId: string; seq: number; version: number; reactions: EventReaction[]; actorId: string; emoji: string; on: boolean };
	"message.delivered": { userId: string; seq: number };
	"message.seen": { userId: string; seq: number };
	"group.created": GroupEventPayload;
	"group.updated": GroupEventPayload;
	"group.member.added": GroupEventPayload & { userIds: string[] };
	"group.member.removed": GroupEventPayload & { userId: string };
}

/** The versioned envelope every streamed event travels in (docs/EVENTS.md). */
export interface EventEnvelope<T extends StreamEventType = StreamEventType> {
	/** Unique and time-ordered: consumers drop an id they have seen; the outbox publishes in id order. */
	id: string;
	type: T;
	version: number;
	occurredAt: string;
	groupId: string;
	payload: EventPayloads[T];
}

export interface OutboxFields {
	outbox?: EventEnvelope[];
	outboxNext?: string;
}

/** The sparse index every collection that carries an outbox declares. */
export const OUTBOX_INDEX = { fields: { outboxNext: 1 }, sparse: true } as const;

/**
 * An ordered id (lib/ids.ts newOrderedId): 12 hex characters of milliseconds, 4 of a per-process counter (orders
 * events of the same millisecond on one node, which is where all sends of one conversation are sequenced), 8 random.
 */
export const newEventId = newOrderedId;

/** When the event with this id was recorded (ms), read back from the id itself. */
export function eventIdTime(id: string): number {
	return parseInt(id.slice(0, 12), 16);
}

export function makeEnvelope<T extends StreamEventType>(type: T, groupId: string, payload: EventPayloads[T], occurredAt = new Date()): EventEnvelope<T> {
	return { id: newEventId(occurredAt.getTime()), type, version: EVENT_VERSION, occurredAt: occurredAt.toISOString(), groupId, payload };
}

/** Fields of a newly inserted document that records `event` (nothing when streaming is off). */
export function outboxFields(event: EventEnvelope | null): OutboxFields {
	return event ? { outbox: [event], outboxNext: event.id } : {};
}

/** Operators to add to an update so that the same write records `event` (nothing when streaming is off). */
export function outboxUpdate(event: EventEnvelope | null): Record<string, unknown> {
	return event ? { $push: { outbox: event }, $min: { outboxNext: event.id } } : {};
}

export const pendingQuery = { outboxNext: { $gt: "" } };

export interface PendingEntry {
	collection: string;
	docId: string;
	event: EventEnvelope;
}

/**
 * The events of one page of pending documents (sorted by outboxNext, at most `limit`) that can be
 * published now, in id order. When the page is full, documents beyond it only hold events with ids
 * above the page's last outboxNext, so events up to that id are safe to send before them. Within a
 * document, events keep the order they were pushed in even if clocks of different nodes disagree.
 */
export function publishableEvents(collection: string, docs: (OutboxFields & { _id: string })[], limit: number): PendingEntry[] {
	const cutoff = docs.length >= limit ? docs[docs.length - 1].outboxNext : undefined;
	const ranked = docs.flatMap(doc => {
		let runningMax = "";
		return (doc.outbox ?? []).map(event => {
			if (event.id > runningMax) runningMax = event.id;
			return { rank: runningMax, entry: { collection, docId: doc._id, event } };
		});
	});
	return ranked
		.filter(r => cutoff == null || r.rank <= cutoff)
		.sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
		.map(r => r.entry);
}
