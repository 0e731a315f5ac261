import kafkajs from "kafkajs";
import type { Kafka as KafkaClient, LoggerEntryContent } from "kafkajs";
import type { Logger } from "moleculer";
import type { ChatConfig } from "../../lib/config.ts";

const { Kafka, logLevel } = kafkajs;

/**
 * A kafkajs client logging through Moleculer's logger. Its own retries stay short: while Kafka is
 * down the bridge backs off itself, and kafkajs' connection errors are only debug noise.
 */
export function kafkaClient(config: ChatConfig["kafka"], logger: Logger, role: string): KafkaClient {
	return new Kafka({
		clientId: `${config.clientId}-${role}`,
		brokers: config.brokers,
		connectionTimeout: 3000,
		requestTimeout: 15_000,
		retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2000 },
		logLevel: logLevel.WARN,
		logCreator: () => (entry: { level: number; log: LoggerEntryContent }) => {
			const { message, ...extra } = entry.log;
			logger.debug(`kafkajs ${entry.log.logger ?? ""}: ${message}`, extra);
		}
	});
}
