import type { ServiceBroker } from "moleculer";

/**
 * Chat metrics, next to Moleculer's own (moleculer_*). The Prometheus reporter turns dots into
 * underscores: chat.sockets.connected is scraped as chat_sockets_connected, and a counter with
 * `rate` also yields <name>_rate (per second, averaged by Moleculer).
 */
export const CHAT_METRICS = {
	/** Gauge: sockets connected to this node's gateway right now. */
	SOCKETS_CONNECTED: "chat.sockets.connected",
	/** Counter (with rate): messages accepted by messages.send on this node. */
	MESSAGES_SENT: "chat.messages.sent.total",
	/** Histogram, ms: from a message's creation to its emit to the recipients' sockets on this node. */
	FANOUT_LATENCY: "chat.fanout.latency"
} as const;

/** Registered on every broker; a broker without metrics enabled ignores them (register returns null). */
export function registerChatMetrics(broker: ServiceBroker): void {
	const metrics = broker.metrics;
	if (!metrics.isEnabled()) return;
	metrics.register({ type: "gauge", name: CHAT_METRICS.SOCKETS_CONNECTED, description: "Sockets connected to this gateway" });
	metrics.register({ type: "counter", name: CHAT_METRICS.MESSAGES_SENT, description: "Messages accepted", rate: true });
	metrics.register({
		type: "histogram",
		name: CHAT_METRICS.FANOUT_LATENCY,
		description: "Message creation to socket emit",
		unit: "millisecond",
		buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
		quantiles: [0.5, 0.9, 0.99]
	});
	// Start from zero so that a scrape shows them before the first event.
	metrics.set(CHAT_METRICS.SOCKETS_CONNECTED, 0);
	metrics.increment(CHAT_METRICS.MESSAGES_SENT, undefined, 0);
}
