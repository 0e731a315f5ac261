import type { EventSchemas, ServiceSchema } from "moleculer";
import { callerSigner } from "../../lib/cluster-trust.ts";
import { chatConfig } from "../../lib/config.ts";
import { kafkaClient } from "./client.ts";
import { InboundConsumer } from "./inbound.ts";
import { Leadership } from "./leader.ts";
import { OutboxPublisher, registerPublisherMetrics, type PublisherStats } from "./publisher.ts";
import { STREAM_EVENT_TYPES } from "./topics.ts";

/** Live events arrive in bursts; one short wait turns a burst into one batch. */
const NUDGE_DELAY_MS = 20;
/** In a cluster, a starting node waits for the registry to learn the other bridges before it may lead. */
const CLUSTER_SETTLE_MS = 3000;

export interface BridgeStats extends PublisherStats {
	nodeID: string;
	leader: string | null;
	isLeader: boolean;
	/** Documents holding events not yet acknowledged by Kafka (each usually holds one). */
	backlog: number;
	/** Age of the oldest unpublished event. */
	lagSeconds: number;
	inbound: { enabled: boolean; posted: number; skipped: number };
}

interface BridgeState {
	leadership: Leadership;
	publisher: OutboxPublisher;
	/** Null when KAFKA_INBOUND_BOTS is empty. */
	inbound: InboundConsumer | null;
}

/** Every change that records an outbox event also broadcasts it: a nudge to publish soon rather than at the next poll. */
const nudges: EventSchemas<BridgeState> = Object.fromEntries(
	STREAM_EVENT_TYPES.map(type => [
		type,
		function (this: BridgeState) {
			this.publisher?.schedule(NUDGE_DELAY_MS);
		}
	])
);

/**
 * Streams the chat's domain events to Kafka from the outboxes of the services that own them (publisher.ts),
 * and posts records of the inbound topic into conversations as bot users (inbound.ts). Runs only when
 * KAFKA_BROKERS is set. One bridge in a cluster publishes (leader.ts); the outbox is the durable state,
 * so a new leader simply continues where the last acknowledgement left off.
 */
const KafkaBridgeService: ServiceSchema<{}, {}, BridgeState> = {
	name: "kafka-bridge",

	events: {
		...nudges,
		"$node.disconnected"() {
			// The leader may have left: look now rather than at the next poll.
			this.publisher?.schedule(0);
		}
	},

	actions: {
		/** Backlog, lag, throughput, the last error and who leads: what an operator or a metrics scraper wants. */
		stats: {
			readOnly: true,
			async handler(): Promise<BridgeStats> {
				const { documents, lagSeconds } = await this.publisher.backlog();
				return {
					nodeID: this.broker.nodeID,
					leader: this.leadership.leader(),
					isLeader: this.leadership.isLeader(),
					backlog: documents,
					lagSeconds,
					...this.publisher.stats(),
					inbound: { enabled: this.inbound != null, ...(this.inbound?.stats() ?? { posted: 0, skipped: 0 }) }
				};
			}
		}
	},

	created() {
		if (this.broker.isMetricsEnabled()) registerPublisherMetrics(this.broker.metrics);
	},

	started() {
		const config = chatConfig(this.broker).kafka;
		const client = kafkaClient(config, this.logger, this.broker.nodeID);
		this.leadership = new Leadership({
			registry: this.broker.registry,
			serviceName: this.name,
			nodeID: this.broker.nodeID,
			settleMs: this.broker.transit ? CLUSTER_SETTLE_MS : 0
		});
		this.publisher = new OutboxPublisher({ config, client, broker: this.broker, logger: this.logger, isLeader: () => this.leadership.isLeader() });
		this.publisher.schedule(0);
		this.inbound =
			config.inboundBots.length > 0
				? new InboundConsumer({ config, client, broker: this.broker, logger: this.logger, signer: callerSigner(this.broker) })
				: null;
		if (this.inbound) void this.inbound.run();
		else this.logger.info("Kafka bridge: KAFKA_INBOUND_BOTS is empty, the inbound topic is not consumed");
	},

	async stopped() {
		await Promise.all([this.publisher?.stop(), this.inbound?.stop()]);
	}
};

export default KafkaBridgeService;
