import kafkajs from "kafkajs";
import type { Kafka, Producer } from "kafkajs";
import type { Logger, MetricRegistry, ServiceBroker } from "moleculer";
import { DEFAULT_KAFKA_MAX_BATCH_BYTES, type ChatConfig } from "../../lib/config.ts";
import { eventIdTime, type PendingEntry } from "../../lib/outbox.ts";
import type { AckedEntry } from "../../mixins/outbox.mixin.ts";
import { backoffDelay, worthLogging } from "./backoff.ts";
import { nextBatch } from "./batches.ts";

export { topicMessages } from "./batches.ts";

const { Partitioners } = kafkajs;

/** Services whose documents carry outboxes; the publisher reads and acknowledges them through their actions. */
export const OUTBOX_OWNERS = ["messages", "groups"] as const;
const BATCH_LIMIT = 500;
/** How long stopping waits for a batch in flight. */
const STOP_WAIT_MS = 10_000;

const METRICS = { backlog: "chat.kafka.outbox.backlog", lag: "chat.kafka.outbox.lag.seconds", published: "chat.kafka.published.total" } as const;

export interface OutboxPage {
	entries: PendingEntry[];
	more: boolean;
}

/** What one owner's outboxBacklog answers. */
export interface OwnerBacklog {
	documents: number;
	oldestEventId: string | null;
}

export interface Backlog {
	/** Documents holding events not yet acknowledged by Kafka (each usually holds one). */
	documents: number;
	/** Age of the oldest unpublished event. */
	lagSeconds: number;
}

export interface PublisherStats {
	published: number;
	lastPublishedAt: string | null;
	lastError: { message: string; at: string } | null;
	consecutiveFailures: number;
	/** Events too large for a batch, published without some of their fields (docs/EVENTS.md, "Oversized events"). */
	truncated: number;
}

export interface PublisherOptions {
	config: ChatConfig["kafka"];
	client: Pick<Kafka, "producer">;
	broker: Pick<ServiceBroker, "call" | "isMetricsEnabled" | "metrics">;
	logger: Pick<Logger, "info" | "warn">;
	isLeader(): boolean;
}

/** The acknowledgement of published entries: their event ids, one item per document. */
export function groupAcks(entries: readonly PendingEntry[]): AckedEntry[] {
	const byDoc = new Map<string, AckedEntry>();
	for (const { collection, docId, event } of entries) {
		const key = `${collection}/${docId}`;
		const acked = byDoc.get(key) ?? { collection, docId, ids: [] };
		acked.ids.push(event.id);
		byDoc.set(key, acked);
	}
	return [...byDoc.values()];
}

export function combineBacklogs(parts: readonly OwnerBacklog[], now = Date.now()): Backlog {
	const oldest = parts
		.map(p => p.oldestEventId)
		.filter((id): id is string => id != null)
		.sort()[0];
	return {
		documents: parts.reduce((n, p) => n + p.documents, 0),
		// Ids carry their node's clock: one running ahead must not show a negative lag.
		lagSeconds: oldest ? Math.max(0, (now - eventIdTime(oldest)) / 1000) : 0
	};
}

export function registerPublisherMetrics(metrics: MetricRegistry): void {
	metrics.register({ type: "gauge", name: METRICS.backlog, description: "Documents with events not yet in Kafka" });
	metrics.register({ type: "gauge", name: METRICS.lag, description: "Age of the oldest event not yet in Kafka" });
	metrics.register({ type: "gauge", name: METRICS.published, description: "Events this node published to Kafka" });
}

/**
 * The outbound loop: polls the owners' outboxes (and runs sooner when nudged), publishes a bounded
 * batch in id order, and has the owners remove its events only once Kafka acknowledged all of them.
 * After a failure it backs off; nothing is lost, the events stay in the outboxes until they are sent.
 */
export class OutboxPublisher {
	private options: PublisherOptions;
	private producer: Producer | null = null;
	private stopping = false;
	private timer: NodeJS.Timeout | null = null;
	private dueAt = 0;
	private pumping: Promise<void> | null = null;
	private again = false;
	private failures = 0;
	private backoffUntil = 0;
	private published = 0;
	private lastPublishedAt: string | null = null;
	private lastError: PublisherStats["lastError"] = null;
	private truncated = 0;

	constructor(options: PublisherOptions) {
		this.options = options;
	}

	/** One timer: the earliest requested run wins, but never before the backoff ends. */
	schedule(delayMs: number): void {
		if (this.stopping) return;
		const due = Math.max(Date.now() + delayMs, this.backoffUntil);
		if (this.timer && this.dueAt <= due) return;
		if (this.timer) clearTimeout(this.timer);
		this.dueAt = due;
		this.timer = setTimeout(() => {
			this.timer = null;
			void this.pump();
		}, due - Date.now());
	}

	/** Publishes until the outboxes are empty (or this node stops leading), then schedules the next poll. */
	pump(): Promise<void> {
		if (this.pumping) {
			this.again = true;
			return this.pumping;
		}
		this.pumping = this.drain().finally(async () => {
			this.pumping = null;
			if (this.options.broker.isMetricsEnabled()) await this.updateMetrics().catch(() => undefined);
			this.schedule(this.again ? 0 : this.options.config.pollIntervalMs);
		});
		return this.pumping;
	}

	stats(): PublisherStats {
		return {
			published: this.published,
			lastPublishedAt: this.lastPublishedAt,
			lastError: this.lastError,
			consecutiveFailures: this.failures,
			truncated: this.truncated
		};
	}

	async backlog(): Promise<Backlog> {
		const parts = await Promise.all(OUTBOX_OWNERS.map(owner => this.options.broker.call<OwnerBacklog>(`${owner}.outboxBacklog`)));
		return combineBacklogs(parts);
	}

	/** A batch in flight either completes (and is acknowledged) or is published again by the next leader. */
	async stop(): Promise<void> {
		this.stopping = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		await Promise.race([this.pumping, new Promise(resolve => setTimeout(resolve, STOP_WAIT_MS).unref())]);
		await this.dropProducer();
	}

	private async drain(): Promise<void> {
		const { logger } = this.options;
		try {
			do {
				this.again = false;
				if (!this.options.isLeader()) {
					// Another bridge leads; holding a producer open would be idle weight.
					await this.dropProducer();
					break;
				}
				for (;;) {
					const { count, more } = await this.publishBatch();
					if (!more || count === 0 || this.stopping) break;
				}
			} while (this.again && !this.stopping);
			if (this.failures > 0) logger.info(`Kafka bridge: publishing again after ${this.failures} failed attempts`);
			this.failures = 0;
			this.backoffUntil = 0;
		} catch (err) {
			this.failures++;
			const message = (err as Error)?.message ?? String(err);
			this.lastError = { message, at: new Date().toISOString() };
			const delay = backoffDelay(this.failures);
			this.backoffUntil = Date.now() + delay;
			if (worthLogging(this.failures)) logger.warn(`Kafka bridge: publishing failed (${this.failures}x, retrying in ${delay} ms): ${message}`);
			await this.dropProducer();
		}
	}

	/**
	 * Publishes the start of one page of every outbox, in id order and within the batch size Kafka accepts,
	 * and acknowledges what it published once Kafka has; the rest is read again for the next batch.
	 */
	private async publishBatch(): Promise<{ count: number; more: boolean }> {
		const { broker, config, logger } = this.options;
		const pages = await Promise.all(OUTBOX_OWNERS.map(owner => broker.call<OutboxPage, object>(`${owner}.outboxPending`, { limit: BATCH_LIMIT })));
		const entries = pages.flatMap(p => p.entries);
		if (entries.length === 0) return { count: 0, more: pages.some(p => p.more) };
		const batch = nextBatch(entries, config.topicPrefix, config.maxBatchBytes ?? DEFAULT_KAFKA_MAX_BATCH_BYTES);
		const producer = await this.connectedProducer();
		await producer.sendBatch({ acks: -1, topicMessages: batch.topicMessages });
		const sent = new Set(batch.entries);
		await Promise.all(
			OUTBOX_OWNERS.map((owner, i) => {
				const mine = pages[i].entries.filter(e => sent.has(e));
				return mine.length ? broker.call(`${owner}.outboxAck`, { entries: groupAcks(mine) }) : null;
			})
		);
		for (const t of batch.truncated) {
			logger.warn(`Kafka bridge: event ${t.id} (${t.type}) is ${t.bytes} bytes, over KAFKA_MAX_BATCH_BYTES: published truncated`);
		}
		this.truncated += batch.truncated.length;
		this.published += batch.entries.length;
		this.lastPublishedAt = new Date().toISOString();
		return { count: batch.entries.length, more: batch.entries.length < entries.length || pages.some(p => p.more) };
	}

	private async connectedProducer(): Promise<Producer> {
		if (this.producer) return this.producer;
		if (this.stopping) throw new Error("the Kafka bridge is stopping");
		// One request in flight keeps a retried batch from overtaking the next; idempotence also stops Kafka storing it twice.
		const producer = this.options.client.producer({
			idempotent: this.options.config.idempotent,
			maxInFlightRequests: 1,
			allowAutoTopicCreation: true,
			createPartitioner: Partitioners.DefaultPartitioner
		});
		try {
			await producer.connect();
		} catch (err) {
			await producer.disconnect().catch(() => undefined);
			throw err;
		}
		this.producer = producer;
		return producer;
	}

	private async dropProducer(): Promise<void> {
		const producer = this.producer;
		this.producer = null;
		await producer?.disconnect().catch(() => undefined);
	}

	private async updateMetrics(): Promise<void> {
		const { metrics } = this.options.broker;
		const { documents, lagSeconds } = await this.backlog();
		metrics.set(METRICS.backlog, documents);
		metrics.set(METRICS.lag, lagSeconds);
		metrics.set(METRICS.published, this.published);
	}
}
