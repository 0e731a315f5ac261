import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EachMessagePayload } from "kafkajs";
import { CallerSigner, type SignedUser } from "../../../lib/cluster-trust.ts";
import { InboundConsumer, parseInbound, recordClientMessageId, type InboundOptions } from "../../../services/kafka-bridge/inbound.ts";

const at = { partition: 2, offset: "41", timestamp: "1730000000000", key: Buffer.from("g1") };
const parse = (value: unknown) => parseInbound(Buffer.from(typeof value === "string" ? value : JSON.stringify(value)), at);
const reason = (value: unknown) => {
	const parsed = parse(value);
	return parsed.ok ? null : parsed.reason;
};

describe("parseInbound", () => {
	test("a valid record: the bot's username lowercased, its own clientMessageId kept", () => {
		assert.deepEqual(parse({ botUsername: "DeployBot", groupId: "g1", content: "deploy finished", clientMessageId: "deploy-42" }), {
			ok: true,
			post: { botUsername: "deploybot", groupId: "g1", content: "deploy finished", clientMessageId: "deploy-42" }
		});
	});

	test("without a clientMessageId the record's position and contents make one, the same each time the record is read", () => {
		const parsed = parse({ botUsername: "bot", groupId: "g1", content: "hi" });
		assert.ok(parsed.ok);
		assert.match(parsed.post.clientMessageId, /^kafka-2-41-[0-9a-f]{16}$/);
		assert.deepEqual(parse({ botUsername: "bot", groupId: "g1", content: "hi" }), parsed, "a redelivered record is stored once");
		const nulled = parse({ botUsername: "bot", groupId: "g1", content: "hi", clientMessageId: null });
		assert.ok(nulled.ok);
		assert.match(nulled.post.clientMessageId, /^kafka-2-41-[0-9a-f]{16}$/);
	});

	test("a new record at a reused position (a replaced cluster, a recreated topic) gets another clientMessageId", () => {
		const value = Buffer.from(JSON.stringify({ botUsername: "bot", groupId: "g1", content: "hi" }));
		const first = recordClientMessageId(at, value);
		assert.equal(recordClientMessageId({ ...at }, Buffer.from(value)), first);
		const others = [
			recordClientMessageId({ ...at, timestamp: "1730000000001" }, value),
			recordClientMessageId({ ...at, key: Buffer.from("g2") }, value),
			recordClientMessageId({ ...at, key: null }, value),
			recordClientMessageId(at, Buffer.from(JSON.stringify({ botUsername: "bot", groupId: "g1", content: "ho" }))),
			// Where the key ends and the value begins is part of the record.
			recordClientMessageId({ ...at, key: Buffer.from("g") }, Buffer.concat([Buffer.from("1"), value]))
		];
		assert.equal(new Set([first, ...others]).size, others.length + 1);
		const longest = recordClientMessageId({ partition: 2 ** 31 - 1, offset: String(2n ** 63n - 1n), timestamp: at.timestamp, key: null }, value);
		assert.ok(longest.length <= 64, longest);
	});

	test("extra fields are ignored; content and ids are checked by messages.send, not here", () => {
		const parsed = parse({ botUsername: "bot", groupId: "not-an-id", content: "   ", extra: true });
		assert.ok(parsed.ok);
		assert.deepEqual(parsed.post, { botUsername: "bot", groupId: "not-an-id", content: "   ", clientMessageId: parsed.post.clientMessageId });
	});

	test("missing fields", () => {
		assert.equal(reason({ groupId: "g1", content: "x" }), "botUsername must be a non-empty string");
		assert.equal(reason({ botUsername: "", groupId: "g1", content: "x" }), "botUsername must be a non-empty string");
		assert.equal(reason({ botUsername: "bot", content: "x" }), "groupId must be a string");
		assert.equal(reason({ botUsername: "bot", groupId: "g1" }), "content must be a string");
	});

	test("wrong types", () => {
		assert.equal(reason({ botUsername: 7, groupId: "g1", content: "x" }), "botUsername must be a non-empty string");
		assert.equal(reason({ botUsername: "bot", groupId: ["g1"], content: "x" }), "groupId must be a string");
		assert.equal(reason({ botUsername: "bot", groupId: "g1", content: { text: "x" } }), "content must be a string");
		assert.equal(reason({ botUsername: "bot", groupId: "g1", content: "x", clientMessageId: 42 }), "clientMessageId must be a string");
	});

	test("not JSON, not an object, or empty", () => {
		assert.equal(reason("not json at all"), "not JSON");
		assert.equal(reason('{"botUsername":'), "not JSON");
		assert.equal(reason("[1,2]"), "not a JSON object");
		assert.equal(reason("null"), "not a JSON object");
		assert.equal(reason('"text"'), "not a JSON object");
		assert.deepEqual(parseInbound(null, at), { ok: false, reason: "empty record" });
		assert.deepEqual(parseInbound(Buffer.alloc(0), at), { ok: false, reason: "empty record" });
	});
});

describe("InboundConsumer.handle", () => {
	const bot = { id: "u-bot", username: "bot", displayName: "Bot", avatarUrl: null, statusText: "" };
	const signer = new CallerSigner("inbound test secret", "test");

	function consumer(send: (params: unknown, opts: unknown) => Promise<unknown> = async () => ({})) {
		const calls: { action: string; params: unknown; opts?: unknown }[] = [];
		const warnings: string[] = [];
		const broker = {
			call: async (action: string, params: { username?: string }, opts?: unknown) => {
				calls.push({ action, params, opts });
				if (action === "users.byUsername") return params.username === "bot" ? bot : null;
				if (action === "messages.send") return send(params, opts);
				throw new Error(`unexpected call ${action}`);
			}
		};
		const options = {
			config: { brokers: [], topicPrefix: "chat.", clientId: "test", inboundBots: ["bot", "ghost"], pollIntervalMs: 1000, idempotent: false },
			client: { consumer: () => assert.fail("no Kafka in this test") },
			broker,
			logger: { warn: (message: string) => void warnings.push(message) },
			signer
		} as unknown as InboundOptions;
		return { inbound: new InboundConsumer(options), calls, warnings };
	}

	const sentAs = (call: { opts?: unknown } | undefined) => (call?.opts as { meta: { user: SignedUser } }).meta.user;
	let heartbeats = 0;
	const record = (value: unknown) =>
		({
			topic: "chat.inbound",
			partition: 0,
			message: { value: Buffer.from(JSON.stringify(value)), offset: "7", timestamp: "1730000000000", key: null },
			heartbeat: async () => void heartbeats++
		}) as unknown as EachMessagePayload;
	const rateLimited = (retryAfterMs: number) =>
		Object.assign(new Error("Too many requests, slow down"), { code: 429, type: "RATE_LIMITED", data: { retryAfterMs } });

	test("posts as the allow-listed bot user, through messages.send like any member", async () => {
		const { inbound, calls } = consumer();
		await inbound.handle(record({ botUsername: "Bot", groupId: "g1", content: "deploy finished" }));
		assert.deepEqual(calls.at(-1), {
			action: "messages.send",
			params: { groupId: "g1", content: "deploy finished", clientMessageId: (calls.at(-1)?.params as { clientMessageId: string }).clientMessageId },
			opts: { meta: { user: { id: "u-bot", username: "bot", exp: sentAs(calls.at(-1)).exp, sig: sentAs(calls.at(-1)).sig } } }
		});
		assert.match((calls.at(-1)?.params as { clientMessageId: string }).clientMessageId, /^kafka-0-7-[0-9a-f]{16}$/);
		// Signed like a gateway's caller, for a few minutes: the services trust nothing else.
		const check = signer.verifyUser(sentAs(calls.at(-1)));
		assert.deepEqual(check, { ok: true, user: { id: "u-bot", username: "bot" } });
		assert.ok(sentAs(calls.at(-1)).exp <= Date.now() / 1000 + 5 * 60);
		assert.deepEqual(inbound.stats(), { posted: 1, skipped: 0 });
	});

	test("a username outside KAFKA_INBOUND_BOTS is skipped without a lookup: no impersonation", async () => {
		const { inbound, calls, warnings } = consumer();
		await inbound.handle(record({ botUsername: "alice", groupId: "g1", content: "hi" }));
		assert.deepEqual(calls, []);
		assert.deepEqual(inbound.stats(), { posted: 0, skipped: 1 });
		assert.match(warnings[0], /chat\.inbound\/0@7: "alice" is not in KAFKA_INBOUND_BOTS/);
	});

	test("malformed records and bots without a user are skipped", async () => {
		const { inbound, calls, warnings } = consumer();
		await inbound.handle({ topic: "chat.inbound", partition: 1, message: { value: Buffer.from("nope"), offset: "3" } } as unknown as EachMessagePayload);
		await inbound.handle(record({ botUsername: "ghost", groupId: "g1", content: "hi" }));
		assert.deepEqual(
			calls.map(c => c.action),
			["users.byUsername"]
		);
		assert.deepEqual(inbound.stats(), { posted: 0, skipped: 2 });
		assert.match(warnings[0], /chat\.inbound\/1@3: not JSON/);
		assert.match(warnings[1], /no user "ghost"/);
	});

	test("a refusal (4xx) is skipped; a transient failure rejects so that kafkajs delivers the record again", async () => {
		const refused = consumer(async () => {
			throw Object.assign(new Error("Conversation not found"), { code: 404 });
		});
		await refused.inbound.handle(record({ botUsername: "bot", groupId: "g1", content: "hi" }));
		assert.deepEqual(refused.inbound.stats(), { posted: 0, skipped: 1 });
		assert.match(refused.warnings[0], /refused: Conversation not found/);

		const down = consumer(async () => {
			throw Object.assign(new Error("Request timed out"), { code: 504 });
		});
		await assert.rejects(down.inbound.handle(record({ botUsername: "bot", groupId: "g1", content: "hi" })), /timed out/);
		assert.deepEqual(down.inbound.stats(), { posted: 0, skipped: 0 });
	});

	test("over the bot's send rate the record waits for the bucket and is posted, not dropped", async () => {
		let refusals = 2;
		const { inbound, calls } = consumer(async () => {
			if (refusals-- > 0) throw rateLimited(30);
			return {};
		});
		heartbeats = 0;
		const started = Date.now();
		await inbound.handle(record({ botUsername: "bot", groupId: "g1", content: "hi", clientMessageId: "c1" }));
		assert.ok(Date.now() - started >= 55, "waited retryAfterMs each time");
		assert.equal(heartbeats, 2, "kept the consumer group session alive while waiting");
		const sends = calls.filter(c => c.action === "messages.send");
		assert.equal(sends.length, 3);
		assert.ok(
			sends.every(c => (c.params as { clientMessageId: string }).clientMessageId === "c1"),
			"the same idempotency key every time"
		);
		assert.deepEqual(inbound.stats(), { posted: 1, skipped: 0 });
	});

	test("stopping cuts the wait short and leaves the record uncommitted, for the next consumer", async () => {
		const { inbound } = consumer(async () => {
			throw rateLimited(60_000);
		});
		const handling = inbound.handle(record({ botUsername: "bot", groupId: "g1", content: "hi" }));
		setTimeout(() => void inbound.stop(), 20);
		const started = Date.now();
		await assert.rejects(handling, /Too many requests/);
		assert.ok(Date.now() - started < 5000);
		assert.deepEqual(inbound.stats(), { posted: 0, skipped: 0 });
	});
});
