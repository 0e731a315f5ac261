import type { Context, ServiceSchema } from "moleculer";
import kafkajs from "kafkajs";
import type { Consumer, EachMessagePayload, Kafka, Message as KafkaRecord, Producer } from "kafkajs";
import { chatConfig, type ChatConfig } from "../lib/config.ts";
import { kafkaClient } from "../lib/kafka/client.ts";
import { parseInbound } from "../lib/kafka/inbound.ts";
import { TOPICS, topicOf } from "../lib/kafka/topics.ts";
import { eventIdTime, type PendingEntry } from "../lib/outbox.ts";
import type { User } from "../lib/users.ts";
import type { AckedEntry } from "../mixins/outbox.mixin.ts";

const { Partitioners } = kafkajs;

/** Services whose documents carry outboxes; the bridge reads and acknowledges them through their actions. */
const OUTBOX_OWNERS = ["messages", "groups"] as const;
const BATCH_LIMIT = 500;
/** Live events arrive in bursts; one short wait turns a burst into one batch. */
const NUDGE_DELAY_MS = 20;
const MAX_BACKOFF_MS = 30_000;
/** In a cluster, a starting node waits for the registry to learn the other bridges before it may lead. */
const CLUSTER_SETTLE_MS = 3000;

export interface BridgeStats {
	nodeID: string;
	leader: string | null;
	isLeader: boolean;
	/** Documents holding events not yet acknowledged by Kafka (each usually holds one). */
	backlog: number;
	/** Age of the oldest unpublished event. */
	lagSeconds: number;
	published: number;
	lastPublishedAt: string | null;
	lastError: { message: string; at: string } | null;
	consecutiveFailures: number;
	inbound: { enabled: boolean; posted: number; skipped: number };
}

interface BridgeThis {
	kafka: ChatConfig["kafka"];
	client: Kafka;
	producer: Producer | null;
	consumer: Consumer | null;
	stopping: boolean;
	timer: NodeJS.Timeout | null;
	dueAt: number;
	pumping: Promise<void> | null;
	again: boolean;
	failures: number;
	backoffUntil: number;
	leadAfter: number;
	sleepers: Set<() => void>;
	counters: { published: number; lastPublishedAt: string | null; lastError: BridgeStats["lastError"]; posted: number; skipped: number };
	topic(name: string): string;
	leaderNodeID(): string | null;
	isLeader(): boolean;
	schedule(delayMs: number): void;
	pump(): Promise<void>;
	publishBatch(): Promise<{ count: number; more: boolean }>;
	connectedProducer(): Promise<Producer>;
	dropProducer(): Promise<void>;
	backlog(): Promise<{ documents: number; oldestEventId: string | null }>;
	updateMetrics(): Promise<void>;
	runInbound(): Promise<void>;
	handleInbound(payload: EachMessagePayload): Promise<void>;
	skipInbound(payload: EachMessagePayload, reason: string): void;
	sleep(ms: number): Promise<void>;
}

function backoffDelay(failures: number): number {
	const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures - 1, 10));
	return Math.round(base * (0.75 + Math.random() * 0.5));
}

function groupAcks(entries: PendingEntry[]): AckedEntry[] {
	const byDoc = new Map<string, AckedEntry>();
	for (const { collection, docId, event } of entries) {
		const key = `${collection}/${docId}`;
		const acked = byDoc.get(key) ?? { collection, docId, ids: [] };
		acked.ids.push(event.id);
		byDoc.set(key, acked);
	}
	return [...byDoc.values()];
}

const isClientError = (err: unknown) => {
	const code = (err as { code?: unknown })?.code;
	return typeof code === "number" && code >= 400 && code < 500;
};

/**
 * Streams the chat's domain events to Kafka from the outboxes of the services that own them, and
 * posts records of the inbound topic into conversations as bot users. Runs only when KAFKA_BROKERS
 * is set. One bridge in a cluster publishes (the available one with the lowest nodeID); the outbox
 * is the durable state, so a new leader simply continues where the last acknowledgement left off.
 */
const KafkaBridgeService: ServiceSchema<{}, {}, BridgeThis> = {
	name: "kafka-bridge",

	events: {
		"message.created"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"message.deleted"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"message.delivered"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"message.seen"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"group.created"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"group.updated"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"group.member.added"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"group.member.removed"() {
			this.schedule(NUDGE_DELAY_MS);
		},
		"$node.disconnected"() {
			// The leader may have left: look now rather than at the next poll.
			this.schedule(0);
		}
	},

	actions: {
		/** Backlog, lag, throughput, the last error and who leads: what an operator or a metrics scraper wants. */
		stats: {
			async handler(this: BridgeThis & { broker: Context["broker"] }): Promise<BridgeStats> {
				const { documents, oldestEventId } = await this.backlog();
				const leader = this.leaderNodeID();
				return {
					nodeID: this.broker.nodeID,
					leader,
					isLeader: this.isLeader(),
					backlog: documents,
					lagSeconds: oldestEventId ? Math.max(0, (Date.now() - eventIdTime(oldestEventId)) / 1000) : 0,
					published: this.counters.published,
					lastPublishedAt: this.counters.lastPublishedAt,
					lastError: this.counters.lastError,
					consecutiveFailures: this.failures,
					inbound: { enabled: this.kafka.inboundBots.length > 0, posted: this.counters.posted, skipped: this.counters.skipped }
				};
			}
		}
	},

	methods: {
		topic(name: string) {
			return this.kafka.topicPrefix + name;
		},

		leaderNodeID(): string | null {
			const services = (this.broker.registry as any).getServiceList({ onlyAvailable: true }) as { name: string; nodeID: string }[];
			const nodes = services.filter(s => s.name === this.name).map(s => s.nodeID);
			nodes.sort();
			return nodes[0] ?? null;
		},

		isLeader(): boolean {
			return Date.now() >= this.leadAfter && this.leaderNodeID() === this.broker.nodeID;
		},

		/** One timer: the earliest requested run wins, but never before the backoff ends. */
		schedule(delayMs: number) {
			if (this.stopping) return;
			const due = Math.max(Date.now() + delayMs, this.backoffUntil);
			if (this.timer && this.dueAt <= due) return;
			if (this.timer) clearTimeout(this.timer);
			this.dueAt = due;
			this.timer = setTimeout(() => {
				this.timer = null;
				void this.pump();
			}, due - Date.now());
		},

		async pump() {
			if (this.pumping) {
				this.again = true;
				return this.pumping;
			}
			this.pumping = (async () => {
				try {
					do {
						this.again = false;
						if (!this.isLeader()) {
							// Another bridge leads; holding a producer open would be idle weight.
							await this.dropProducer();
							break;
						}
						for (;;) {
							const { count, more } = await this.publishBatch();
							if (!more || count === 0 || this.stopping) break;
						}
					} while (this.again && !this.stopping);
					if (this.failures > 0) this.logger.info(`Kafka bridge: publishing again after ${this.failures} failed attempts`);
					this.failures = 0;
					this.backoffUntil = 0;
				} catch (err) {
					this.failures++;
					const message = (err as Error)?.message ?? String(err);
					this.counters.lastError = { message, at: new Date().toISOString() };
					const delay = backoffDelay(this.failures);
					this.backoffUntil = Date.now() + delay;
					// Log the first failure and then sparsely: Kafka may be down for hours.
					if (this.failures === 1 || this.failures % 20 === 0)
						this.logger.warn(`Kafka bridge: publishing failed (${this.failures}x, retrying in ${delay} ms): ${message}`);
					await this.dropProducer();
				} finally {
					this.pumping = null;
					if (this.kafka && this.broker.isMetricsEnabled()) await this.updateMetrics().catch(() => undefined);
					this.schedule(this.again ? 0 : this.kafka.pollIntervalMs);
				}
			})();
			return this.pumping;
		},

		/** Publishes one page of every outbox, in id order, and acknowledges it once Kafka has. */
		async publishBatch() {
			const pages = await Promise.all(
				OUTBOX_OWNERS.map(owner => this.broker.call<{ entries: PendingEntry[]; more: boolean }, object>(`${owner}.outboxPending`, { limit: BATCH_LIMIT }))
			);
			const count = pages.reduce((n, p) => n + p.entries.length, 0);
			const more = pages.some(p => p.more);
			if (count === 0) return { count, more };
			const byTopic = new Map<string, KafkaRecord[]>();
			for (const { event } of pages.flatMap(p => p.entries)) {
				const topic = this.topic(topicOf(event.type));
				if (!byTopic.has(topic)) byTopic.set(topic, []);
				byTopic.get(topic)!.push({
					key: event.groupId,
					value: JSON.stringify(event),
					headers: { "event-id": event.id, "event-type": event.type, "event-version": String(event.version) }
				});
			}
			const producer = await this.connectedProducer();
			await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
			await Promise.all(
				OUTBOX_OWNERS.map((owner, i) =>
					pages[i].entries.length ? this.broker.call(`${owner}.outboxAck`, { entries: groupAcks(pages[i].entries) }) : null
				)
			);
			this.counters.published += count;
			this.counters.lastPublishedAt = new Date().toISOString();
			return { count, more };
		},

		async connectedProducer(): Promise<Producer> {
			if (this.producer) return this.producer;
			if (this.stopping) throw new Error("the Kafka bridge is stopping");
			// One request in flight keeps a retried batch from overtaking the next; idempotence also stops Kafka storing it twice.
			const producer = this.client.producer({
				idempotent: this.kafka.idempotent,
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
		},

		async dropProducer() {
			const producer = this.producer;
			this.producer = null;
			await producer?.disconnect().catch(() => undefined);
		},

		async backlog() {
			const parts = await Promise.all(
				OUTBOX_OWNERS.map(owner => this.broker.call<{ documents: number; oldestEventId: string | null }>(`${owner}.outboxBacklog`))
			);
			const oldest = parts.map(p => p.oldestEventId).filter((id): id is string => id != null).sort()[0] ?? null;
			return { documents: parts.reduce((n, p) => n + p.documents, 0), oldestEventId: oldest };
		},

		async updateMetrics() {
			const metrics = this.broker.metrics;
			const { documents, oldestEventId } = await this.backlog();
			metrics.set("chat.kafka.outbox.backlog", documents);
			metrics.set("chat.kafka.outbox.lag.seconds", oldestEventId ? (Date.now() - eventIdTime(oldestEventId)) / 1000 : 0);
			metrics.set("chat.kafka.published.total", this.counters.published);
		},

		/** Joins the inbound consumer group, retrying with backoff until Kafka answers; kafkajs handles the rest. */
		async runInbound() {
			let failures = 0;
			while (!this.stopping) {
				const consumer = this.client.consumer({
					groupId: `${this.kafka.clientId}-inbound`,
					sessionTimeout: 15_000,
					heartbeatInterval: 1000,
					allowAutoTopicCreation: true
				});
				this.consumer = consumer;
				try {
					await consumer.connect();
					await consumer.subscribe({ topics: [this.topic(TOPICS.inbound)], fromBeginning: true });
					consumer.on(consumer.events.CRASH, event => {
						// kafkajs restarts by itself after retriable errors; otherwise start over.
						if (!event.payload.restart && !this.stopping && this.consumer === consumer) {
							this.logger.warn(`Kafka bridge: inbound consumer crashed: ${event.payload.error?.message}`);
							void consumer.disconnect().catch(() => undefined).then(() => this.runInbound());
						}
					});
					await consumer.run({ eachMessage: payload => this.handleInbound(payload) });
					return;
				} catch (err) {
					failures++;
					if (failures === 1 || failures % 20 === 0)
						this.logger.warn(`Kafka bridge: inbound consumer cannot start (${failures}x): ${(err as Error).message}`);
					await consumer.disconnect().catch(() => undefined);
					await this.sleep(backoffDelay(failures));
				}
			}
		},

		/** Malformed or refused records are logged and skipped; only transient failures are retried (by kafkajs). */
		async handleInbound(payload: EachMessagePayload) {
			const parsed = parseInbound(payload.message.value, { partition: payload.partition, offset: payload.message.offset });
			if (!parsed.ok) return this.skipInbound(payload, parsed.reason);
			const { botUsername, groupId, content, clientMessageId } = parsed.post;
			if (!this.kafka.inboundBots.includes(botUsername)) return this.skipInbound(payload, `"${botUsername}" is not in KAFKA_INBOUND_BOTS`);
			const bot = await this.broker.call<User | null, object>("users.byUsername", { username: botUsername });
			if (!bot) return this.skipInbound(payload, `no user "${botUsername}"`);
			try {
				await this.broker.call("messages.send", { groupId, content, clientMessageId }, { meta: { user: { id: bot.id, username: bot.username } } });
				this.counters.posted++;
			} catch (err) {
				if (isClientError(err)) return this.skipInbound(payload, `refused: ${(err as Error).message}`);
				throw err;
			}
		},

		skipInbound(payload: EachMessagePayload, reason: string) {
			this.counters.skipped++;
			this.logger.warn(`Kafka bridge: skipped inbound record ${payload.topic}/${payload.partition}@${payload.message.offset}: ${reason}`);
		},

		/** A wait that stopping the service cuts short. */
		sleep(ms: number) {
			return new Promise<void>(resolve => {
				const done = () => {
					clearTimeout(timer);
					this.sleepers.delete(done);
					resolve();
				};
				const timer = setTimeout(done, ms);
				this.sleepers.add(done);
			});
		}
	},

	created() {
		this.producer = null;
		this.consumer = null;
		this.stopping = false;
		this.timer = null;
		this.dueAt = 0;
		this.pumping = null;
		this.again = false;
		this.failures = 0;
		this.backoffUntil = 0;
		this.sleepers = new Set();
		this.counters = { published: 0, lastPublishedAt: null, lastError: null, posted: 0, skipped: 0 };
		if (this.broker.isMetricsEnabled()) {
			this.broker.metrics.register({ type: "gauge", name: "chat.kafka.outbox.backlog", description: "Documents with events not yet in Kafka" });
			this.broker.metrics.register({ type: "gauge", name: "chat.kafka.outbox.lag.seconds", description: "Age of the oldest event not yet in Kafka" });
			this.broker.metrics.register({ type: "gauge", name: "chat.kafka.published.total", description: "Events this node published to Kafka" });
		}
	},

	started() {
		this.kafka = chatConfig(this.broker).kafka;
		this.client = kafkaClient(this.kafka, this.logger, this.broker.nodeID);
		this.leadAfter = this.broker.transit ? Date.now() + CLUSTER_SETTLE_MS : 0;
		this.schedule(0);
		if (this.kafka.inboundBots.length > 0) void this.runInbound();
		else this.logger.info("Kafka bridge: KAFKA_INBOUND_BOTS is empty, the inbound topic is not consumed");
	},

	async stopped() {
		this.stopping = true;
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		for (const wake of [...this.sleepers]) wake();
		// A batch in flight either completes (and is acknowledged) or is published again by the next leader.
		await Promise.race([this.pumping, new Promise(resolve => setTimeout(resolve, 10_000).unref())]);
		await this.dropProducer();
		await this.consumer?.disconnect().catch(() => undefined);
		this.consumer = null;
	}
};

export default KafkaBridgeService;
