import type { BrokerOptions } from "moleculer";
import type { ChatConfig } from "./lib/config.ts";

/**
 * The one place where the broker is configured from the environment (through ChatConfig).
 * Services never read transport, cache or serializer settings themselves.
 */
export function brokerOptions(config: ChatConfig): BrokerOptions {
	const clustered = config.transporter != null;
	return {
		namespace: config.namespace,
		nodeID: config.nodeID,
		// A URL such as amqp://guest:guest@rabbitmq:5672 selects and configures the transporter.
		transporter: (config.transporter ?? null) as BrokerOptions["transporter"],
		cacher: cacherOptions(config),
		serializer: "JSON",
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
		// Retries are opted into per action (only idempotent ones declare a retryPolicy).
		retryPolicy: { enabled: false },
		maxCallLevel: 50,
		heartbeatInterval: 5,
		heartbeatTimeout: 15,
		contextParamsCloning: false,
		// In-flight requests are tracked so that a stopping node finishes them before leaving.
		tracking: { enabled: true, shutdownTimeout: 10_000 },
		disableBalancer: false,
		registry: { strategy: "RoundRobin", preferLocal: true },
		circuitBreaker: {
			enabled: clustered,
			threshold: 0.5,
			minRequestCount: 20,
			windowTime: 60,
			halfOpenTime: 10_000,
			check: (err: Error & { code?: number }) => err && (err.code == null || err.code >= 500)
		},
		bulkhead: { enabled: false },
		validator: true,
		metrics: { enabled: false },
		tracing: { enabled: false },
		skipProcessEventRegistration: true
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
