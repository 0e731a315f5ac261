import type { BrokerOptions } from "moleculer";
import type { ChatConfig } from "../lib/config.ts";
import { isOverloaded } from "../lib/errors.ts";
import { registerChatMetrics } from "../lib/metrics.ts";
import type { StoreMetadata } from "../lib/single-store.ts";
import { chatMiddlewares } from "../middlewares/index.ts";
import { ChatValidator } from "../lib/validator.ts";

/**
 * The one place where the broker is configured from the environment (through ChatConfig).
 * Services never read transport, cache or serializer settings themselves.
 */
export function brokerOptions(config: ChatConfig): BrokerOptions {
	const clustered = config.transporter != null;
	return {
		namespace: config.namespace,
		nodeID: config.nodeID,
		// Peers check that no two nodes keep the same services in stores of their own (lib/single-store.ts).
		metadata: { store: config.storage.kind, startedAt: Date.now() } satisfies StoreMetadata,
		transporter: transporterOptions(config.transporter),
		cacher: cacherOptions(config),
		// CBOR (cbor-x): the fastest of Moleculer's binary serializers, and it keeps Dates as Dates and Buffers
		// (stream chunks of uploads) as bytes, so a remote call returns what a local one does.
		serializer: "CBOR",
		logger: {
			type: "Console",
			options: {
				level: config.logLevel,
				formatter: config.logFormat === "json" ? "json" : "short",
				colors: config.logFormat !== "json",
				moduleColors: false
			}
		},
		logLevel: config.logLevel as BrokerOptions["logLevel"],
		requestTimeout: 10_000,
		// Off by default; actions that only read declare `readOnly: true` (ReadRetries turns it on for them).
		retryPolicy: { enabled: false, retries: 2, delay: 100, maxDelay: 1000, factor: 2, check: (err: Error & { retryable?: boolean }) => !!err?.retryable },
		// Moleculer's middlewares and ours in one explicit order (see middlewares/index.ts).
		internalMiddlewares: false,
		middlewares: chatMiddlewares() as BrokerOptions["middlewares"],
		maxCallLevel: 50,
		heartbeatInterval: 5,
		heartbeatTimeout: 15,
		contextParamsCloning: false,
		// In-flight requests are tracked so that a stopping node finishes them before leaving.
		tracking: { enabled: true, shutdownTimeout: config.ops.shutdownTimeoutMs },
		disableBalancer: false,
		// stopDelay: after announcing that it leaves, a node waits for the others to stop routing to it.
		registry: { strategy: "RoundRobin", preferLocal: true, stopDelay: clustered ? 1000 : 100 },
		circuitBreaker: {
			enabled: clustered,
			threshold: 0.5,
			minRequestCount: 20,
			windowTime: 60,
			halfOpenTime: 10_000,
			// A node shedding load (SERVICE_OVERLOADED) is working at its maximum, not failing: tripping would stop it entirely.
			check: (err: Error & { code?: number }) => err && (err.code == null || err.code >= 500) && !isOverloaded(err)
		},
		bulkhead: { enabled: false },
		validator: new ChatValidator(),
		metrics: metricsOptions(config),
		tracing: { enabled: false },
		skipProcessEventRegistration: true,
		created: broker => registerChatMetrics(broker)
	};
}

/** Moleculer's metrics and ours, scraped by Prometheus from METRICS_PORT/metrics; off unless the port is set. */
function metricsOptions(config: ChatConfig): BrokerOptions["metrics"] {
	if (config.ops.metricsPort == null) return { enabled: false };
	return {
		enabled: true,
		reporter: [
			{
				type: "Prometheus",
				options: {
					port: config.ops.metricsPort,
					path: "/metrics",
					defaultLabels: (registry: any) => ({ namespace: registry.broker.namespace, nodeID: registry.broker.nodeID })
				}
			}
		]
	};
}

function cacherOptions(config: ChatConfig): BrokerOptions["cacher"] {
	if (config.cacher && /^rediss?:\/\//.test(config.cacher)) {
		// ioredis takes the URL as it is; the typings only know the object form.
		const redis = config.cacher as unknown as Record<string, unknown>;
		return { type: "Redis", options: { prefix: `${config.namespace}-cache`, ttl: 3600, redis } };
	}
	return { type: "Memory", options: { ttl: 3600, clone: false } };
}

/**
 * A URL such as amqp://guest:guest@rabbitmq:5672 selects and configures the transporter. On AMQP,
 * prefetch is how many packets a node takes at once on its one channel (Moleculer's default of 1
 * makes every event and call of the node wait for the previous one's acknowledgement).
 */
function transporterOptions(url: string | undefined): BrokerOptions["transporter"] {
	if (!url) return null;
	if (/^amqps?:\/\//.test(url)) return { type: "AMQP", options: { url, prefetch: 256 } };
	return url as BrokerOptions["transporter"];
}
