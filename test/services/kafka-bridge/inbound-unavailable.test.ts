import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { EachMessagePayload } from "kafkajs";
import { Errors, ServiceBroker } from "moleculer";
import { InboundConsumer, isRefusal, type InboundOptions } from "../../../services/kafka-bridge/inbound.ts";

const BOT = { id: "6720b5c0a1b2c3d4e5f60001", username: "deploy-bot" };
const GROUP = "6720b5c0a1b2c3d4e5f60718";

function payload(offset: string): EachMessagePayload {
	const value = Buffer.from(JSON.stringify({ botUsername: BOT.username, groupId: GROUP, content: "Deploy finished" }));
	return {
		topic: "chat.inbound",
		partition: 0,
		message: { value, key: null, offset, timestamp: "1730000000000", headers: {} },
		heartbeat: async () => undefined,
		pause: () => () => undefined
	} as unknown as EachMessagePayload;
}

describe("isRefusal", () => {
	test("client errors are refusals; a missing or leaving service (404, but retryable) and server errors are not", () => {
		assert.equal(isRefusal(new Errors.ValidationError("content is empty", "VALIDATION_ERROR", [])), true);
		assert.equal(isRefusal(new Errors.MoleculerClientError("not a member", 404, "NOT_FOUND")), true);
		assert.equal(isRefusal(new Errors.ServiceNotFoundError({ action: "messages.send" })), false);
		assert.equal(isRefusal(new Errors.ServiceNotAvailableError({ action: "messages.send", nodeID: "n1" })), false);
		assert.equal(isRefusal(new Errors.MoleculerServerError("db down", 500, "DB")), false);
		assert.equal(isRefusal(new Error("socket hang up")), false);
	});
});

describe("inbound while messages is unavailable", () => {
	let broker: ServiceBroker;
	const stored = new Map<string, string>();
	let failWith: Error | null = null;
	const warnings: string[] = [];
	let consumer: InboundConsumer;

	const messagesService = {
		name: "messages",
		actions: {
			send(ctx: { params: { content: string; clientMessageId: string } }) {
				if (failWith) throw failWith;
				// Idempotent like the real send: a clientMessageId is stored once.
				if (!stored.has(ctx.params.clientMessageId)) stored.set(ctx.params.clientMessageId, ctx.params.content);
				return { id: "m1" };
			}
		}
	};

	before(async () => {
		broker = new ServiceBroker({ logger: false });
		broker.createService({ name: "users", actions: { byUsername: () => BOT } });
		await broker.start();
		consumer = new InboundConsumer({
			config: { brokers: [], topicPrefix: "chat.", clientId: "test", inboundBots: [BOT.username], pollIntervalMs: 1000, idempotent: false },
			client: {},
			broker,
			logger: { warn: (message: string) => void warnings.push(message) },
			signer: { signUser: (user: unknown) => user }
		} as unknown as InboundOptions);
	});
	after(() => broker.stop());

	test("a record is not skipped while messages.send has no endpoint: kafkajs delivers it again, and it is posted once", async () => {
		await assert.rejects(consumer.handle(payload("7")), (err: Error) => err instanceof Errors.ServiceNotFoundError);
		assert.deepEqual(consumer.stats(), { posted: 0, skipped: 0 }, "the offset stays uncommitted");

		// The messages node is back; the redelivered record (same position and value) is posted.
		await broker.createService(messagesService)._start();
		await broker.waitForServices("messages");
		await consumer.handle(payload("7"));
		// A second redelivery (the first attempt may have been stored after all) changes nothing.
		await consumer.handle(payload("7"));
		assert.deepEqual([...stored.values()], ["Deploy finished"]);
		assert.deepEqual(consumer.stats(), { posted: 2, skipped: 0 });
		assert.deepEqual(warnings, []);
	});

	test("the same for a service that left while the send was routed, or answered unavailable from further down", async () => {
		failWith = new Errors.ServiceNotAvailableError({ action: "messages.send", nodeID: "node-2" });
		await assert.rejects(consumer.handle(payload("8")), (err: Error) => err instanceof Errors.ServiceNotAvailableError);
		failWith = new Errors.ServiceNotFoundError({ action: "groups.membership" });
		await assert.rejects(consumer.handle(payload("8")));
		assert.equal(consumer.stats().skipped, 0);
		failWith = null;
		await consumer.handle(payload("8"));
		assert.equal(stored.size, 2);
	});

	test("a refusal is still skipped", async () => {
		failWith = new Errors.MoleculerClientError("not a member", 404, "NOT_FOUND");
		await consumer.handle(payload("9"));
		failWith = null;
		assert.equal(consumer.stats().skipped, 1);
		assert.match(warnings[0], /skipped inbound record chat.inbound\/0@9: refused: not a member/);
		assert.equal(stored.size, 2);
	});
});
