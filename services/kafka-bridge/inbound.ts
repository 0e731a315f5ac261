import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Consumer, EachMessagePayload, Kafka } from "kafkajs";
import type { Logger, ServiceBroker } from "moleculer";
import type { User } from "../../contract/users.ts";
import { BOT_SIGNATURE_SECONDS, type CallerSigner } from "../../lib/cluster-trust.ts";
import type { ChatConfig } from "../../lib/config.ts";
import { backoffDelay, worthLogging } from "./backoff.ts";
import { TOPICS } from "./topics.ts";

/** A record on the inbound topic: an integration posts `content` into a conversation as a bot user. */
export interface InboundPost {
	botUsername: string;
	groupId: string;
	content: string;
	clientMessageId: string;
}

export type InboundParse = { ok: true; post: InboundPost } | { ok: false; reason: string };

/** What identifies one record of the inbound topic, besides its value. */
export interface InboundRecordId {
	partition: number;
	offset: string;
	timestamp: string;
	key: Buffer | null;
}

/**
 * The clientMessageId of a record that brings none. Its position alone is not enough: a replaced cluster
 * or a recreated topic starts its offsets at 0 again, and a bot's new post would be taken for a retry of
 * its old one at that offset. A record's timestamp, key and value come back unchanged each time it is
 * read, so a redelivered record still gets the same id, and a new record at the same position does not.
 */
export function recordClientMessageId(record: InboundRecordId, value: Buffer): string {
	const digest = createHash("sha256")
		.update(`${record.timestamp}\n${record.key?.length ?? -1}\n`)
		.update(record.key ?? Buffer.alloc(0))
		.update(value)
		.digest("hex");
	// At most 6 + 10 + 1 + 19 + 1 + 16 = 53 characters: within a clientMessageId's 64.
	return `kafka-${record.partition}-${record.offset}-${digest.slice(0, 16)}`;
}

/** Shape checks only; messages.send validates the rest (ids, lengths, membership) like any other send. */
export function parseInbound(value: Buffer | null, record: InboundRecordId): InboundParse {
	if (value == null || value.length === 0) return { ok: false, reason: "empty record" };
	let body: unknown;
	try {
		body = JSON.parse(value.toString("utf8"));
	} catch {
		return { ok: false, reason: "not JSON" };
	}
	if (body == null || typeof body !== "object" || Array.isArray(body)) return { ok: false, reason: "not a JSON object" };
	const { botUsername, groupId, content, clientMessageId } = body as Record<string, unknown>;
	if (typeof botUsername !== "string" || botUsername === "") return { ok: false, reason: "botUsername must be a non-empty string" };
	if (typeof groupId !== "string") return { ok: false, reason: "groupId must be a string" };
	if (typeof content !== "string") return { ok: false, reason: "content must be a string" };
	if (clientMessageId != null && typeof clientMessageId !== "string") return { ok: false, reason: "clientMessageId must be a string" };
	return {
		ok: true,
		post: { botUsername: botUsername.toLowerCase(), groupId, content, clientMessageId: clientMessageId ?? recordClientMessageId(record, value) }
	};
}

/**
 * A refusal (validation, membership): sending the same record again would be refused again. Moleculer gives
 * a missing or leaving service (ServiceNotFound, ServiceNotAvailable) a 404 too, but marks it retryable.
 */
export const isRefusal = (err: unknown) => {
	const { code, retryable } = (err ?? {}) as { code?: unknown; retryable?: unknown };
	return typeof code === "number" && code >= 400 && code < 500 && retryable !== true;
};

/** How long to wait when messages.send refused the post for the bot's send rate (RATE_LIMITED); null for any other error. */
function rateLimitedFor(err: unknown): number | null {
	const { code, data } = (err ?? {}) as { code?: unknown; data?: { retryAfterMs?: unknown } };
	if (code !== 429) return null;
	const retryAfterMs = data?.retryAfterMs;
	return typeof retryAfterMs === "number" && retryAfterMs >= 0 ? retryAfterMs : 1000;
}

export interface InboundOptions {
	config: ChatConfig["kafka"];
	client: Pick<Kafka, "consumer">;
	broker: Pick<ServiceBroker, "call">;
	logger: Pick<Logger, "warn">;
	/** Signs the bot as the caller (a gateway's job), for a few minutes per attempt. */
	signer: Pick<CallerSigner, "signUser">;
}

/**
 * The chat.inbound consumer: each record becomes a messages.send by an allow-listed bot user (as that
 * user, so membership, validation and the bot's send bucket apply). Malformed or refused records are
 * logged and skipped; a post over the bot's send rate waits for its bucket; other failures are retried by
 * kafkajs, which delivers the record again.
 */
export class InboundConsumer {
	private options: InboundOptions;
	private consumer: Consumer | null = null;
	private stopping = new AbortController();
	private posted = 0;
	private skipped = 0;

	constructor(options: InboundOptions) {
		this.options = options;
	}

	stats(): { posted: number; skipped: number } {
		return { posted: this.posted, skipped: this.skipped };
	}

	/** Joins the inbound consumer group, retrying with backoff until Kafka answers; kafkajs handles the rest. */
	async run(): Promise<void> {
		const { client, config, logger } = this.options;
		let failures = 0;
		while (!this.stopping.signal.aborted) {
			const consumer = client.consumer({
				groupId: `${config.clientId}-inbound`,
				sessionTimeout: 15_000,
				heartbeatInterval: 1000,
				allowAutoTopicCreation: true,
				// kafkajs may schedule its restart after a crash once we have disconnected: a stopped bridge keeps none.
				retry: { restartOnFailure: async () => !this.stopping.signal.aborted }
			});
			this.consumer = consumer;
			try {
				await consumer.connect();
				await consumer.subscribe({ topics: [config.topicPrefix + TOPICS.inbound], fromBeginning: true });
				consumer.on(consumer.events.CRASH, event => {
					// kafkajs restarts by itself after retriable errors; otherwise start over.
					if (!event.payload.restart && !this.stopping.signal.aborted && this.consumer === consumer) {
						logger.warn(`Kafka bridge: inbound consumer crashed: ${event.payload.error?.message}`);
						void consumer
							.disconnect()
							.catch(() => undefined)
							.then(() => this.run());
					}
				});
				await consumer.run({ eachMessage: payload => this.handle(payload) });
				return;
			} catch (err) {
				failures++;
				if (worthLogging(failures)) logger.warn(`Kafka bridge: inbound consumer cannot start (${failures}x): ${(err as Error).message}`);
				await consumer.disconnect().catch(() => undefined);
				await sleep(backoffDelay(failures), undefined, { signal: this.stopping.signal }).catch(() => undefined);
			}
		}
	}

	async stop(): Promise<void> {
		this.stopping.abort();
		const consumer = this.consumer;
		this.consumer = null;
		await consumer?.disconnect().catch(() => undefined);
	}

	/** Posts one record; resolves when it is stored or skipped, rejects (for kafkajs to retry) on a transient failure. */
	async handle(payload: EachMessagePayload): Promise<void> {
		const { broker, config } = this.options;
		const { partition, message } = payload;
		const parsed = parseInbound(message.value, { partition, offset: message.offset, timestamp: message.timestamp, key: message.key });
		if (!parsed.ok) return this.skip(payload, parsed.reason);
		const { botUsername, groupId, content, clientMessageId } = parsed.post;
		if (!config.inboundBots.includes(botUsername)) return this.skip(payload, `"${botUsername}" is not in KAFKA_INBOUND_BOTS`);
		const bot = await broker.call<User | null, object>("users.byUsername", { username: botUsername });
		if (!bot) return this.skip(payload, `no user "${botUsername}"`);
		for (;;) {
			try {
				const user = this.options.signer.signUser(bot, Math.floor(Date.now() / 1000) + BOT_SIGNATURE_SECONDS);
				await broker.call("messages.send", { groupId, content, clientMessageId }, { meta: { user } });
				this.posted++;
				return;
			} catch (err) {
				const retryAfterMs = rateLimitedFor(err);
				if (retryAfterMs == null) {
					if (isRefusal(err)) return this.skip(payload, `refused: ${(err as Error).message}`);
					throw err;
				}
				// Over the bot's send bucket: the record waits its turn (a retry with the same clientMessageId is stored once).
				if (this.stopping.signal.aborted) throw err;
				await sleep(retryAfterMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
				await payload.heartbeat();
			}
		}
	}

	private skip(payload: EachMessagePayload, reason: string): void {
		this.skipped++;
		this.options.logger.warn(`Kafka bridge: skipped inbound record ${payload.topic}/${payload.partition}@${payload.message.offset}: ${reason}`);
	}
}
