import type { Context, ServiceSchema } from "moleculer";
import { chatConfig } from "../lib/config.ts";
import {
	makeEnvelope,
	pendingQuery,
	publishableEvents,
	type EventEnvelope,
	type EventPayloads,
	type OutboxFields,
	type PendingEntry,
	type StreamEventType
} from "../lib/outbox.ts";
import type { Collection } from "./db.mixin.ts";

type OutboxDoc = OutboxFields & { _id: string };

export interface OutboxMethods {
	/** The envelope to record with a change, or null when nothing is streamed (Kafka is not configured). */
	outboxEvent<T extends StreamEventType>(type: T, groupId: string, payload: EventPayloads[T], occurredAt?: Date): EventEnvelope<T> | null;
	outboxEnabled: boolean;
}

export interface AckedEntry {
	collection: string;
	docId: string;
	ids: string[];
}

/**
 * Makes a service the owner of the outboxes inside the named collections (of its DbCollections).
 * The bridge reads and acknowledges them through these actions and never touches the collections.
 */
export function Outbox(collections: string[]): Partial<ServiceSchema> {
	const known = new Set(collections);
	const collectionOf = (service: any, name: string): Collection<OutboxDoc> => {
		if (!known.has(name)) throw new Error(`${name} carries no outbox`);
		return service.db[name];
	};

	/** After events left a document: drop the empty outbox, or point outboxNext at the oldest one left. */
	async function settle(col: Collection<OutboxDoc>, doc: OutboxDoc): Promise<void> {
		const pending = doc.outbox ?? [];
		if (pending.length === 0) {
			// Conditional, so an event pushed meanwhile keeps its outboxNext.
			await col.updateMany({ _id: doc._id, outbox: { $size: 0 } }, { $unset: { outbox: 1, outboxNext: 1 } });
			await col.updateMany({ _id: doc._id, outbox: { $exists: false }, outboxNext: { $exists: true } }, { $unset: { outboxNext: 1 } });
			return;
		}
		const oldest = pending.reduce((min, e) => (e.id < min ? e.id : min), pending[0].id);
		// Events pushed later have larger ids, so the oldest left stays right whatever happens meanwhile.
		if (doc.outboxNext !== oldest) await col.updateMany({ _id: doc._id }, { $set: { outboxNext: oldest } });
	}

	return {
		actions: {
			/** The oldest pending events of each outbox, in the order they must be published. */
			outboxPending: {
				visibility: "public",
				params: { limit: { type: "number", integer: true, min: 1, max: 5000, optional: true, default: 500 } },
				async handler(this: any, ctx: Context<{ limit: number }>): Promise<{ entries: PendingEntry[]; more: boolean }> {
					const { limit } = ctx.params;
					const entries: PendingEntry[] = [];
					let more = false;
					for (const name of collections) {
						const col = collectionOf(this, name);
						const docs = await col.find(pendingQuery, { sort: ["outboxNext"], limit });
						if (docs.length >= limit) more = true;
						// A document whose outboxNext went stale (a lost race in settle) is repaired here.
						for (const doc of docs) {
							const ids = (doc.outbox ?? []).map(e => e.id);
							if (ids.length === 0 || !ids.includes(doc.outboxNext!)) await settle(col, doc);
						}
						entries.push(...publishableEvents(name, docs, limit));
					}
					return { entries, more };
				}
			},

			/** Removes events Kafka has acknowledged from their documents. */
			outboxAck: {
				visibility: "public",
				params: {
					entries: {
						type: "array",
						items: { type: "object", props: { collection: "string", docId: "string", ids: { type: "array", items: "string", min: 1 } } }
					}
				},
				async handler(this: any, ctx: Context<{ entries: AckedEntry[] }>): Promise<{ acked: number }> {
					let acked = 0;
					for (const entry of ctx.params.entries) {
						const col = collectionOf(this, entry.collection);
						const doc = await col.updateById(entry.docId, { $pull: { outbox: { id: { $in: entry.ids } } } });
						// A document removed meanwhile (a dropped cursor) has nothing left to settle.
						if (doc) await settle(col, doc);
						acked += entry.ids.length;
					}
					return { acked };
				}
			},

			/** Documents with pending events and the id of the oldest one (its time is the lag). */
			outboxBacklog: {
				visibility: "public",
				readOnly: true,
				async handler(this: any): Promise<{ documents: number; oldestEventId: string | null }> {
					let documents = 0;
					let oldestEventId: string | null = null;
					for (const name of collections) {
						const col = collectionOf(this, name);
						documents += await col.count(pendingQuery);
						const [first] = await col.find(pendingQuery, { sort: ["outboxNext"], limit: 1 });
						if (first?.outboxNext && (oldestEventId == null || first.outboxNext < oldestEventId)) oldestEventId = first.outboxNext;
					}
					return { documents, oldestEventId };
				}
			}
		},

		methods: {
			outboxEvent(this: any, type: StreamEventType, groupId: string, payload: never, occurredAt?: Date) {
				return this.outboxEnabled ? makeEnvelope(type, groupId, payload, occurredAt) : null;
			}
		},

		created(this: any) {
			// Every node that writes must know whether events are streamed, even where the bridge does not run.
			this.outboxEnabled = chatConfig(this.broker).kafka.brokers.length > 0;
		}
	};
}
