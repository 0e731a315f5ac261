import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Kafka, ProducerBatch } from "kafkajs";
import { Errors } from "moleculer";
import { callerSigner } from "../../lib/cluster-trust.ts";
import type { ChatConfig } from "../../lib/config.ts";
import type { BridgeStats } from "../../services/kafka-bridge/kafka-bridge.service.ts";
import { kafkaClient } from "../../services/kafka-bridge/client.ts";
import KafkaBridgeService from "../../services/kafka-bridge/kafka-bridge.service.ts";
import { OutboxPublisher } from "../../services/kafka-bridge/publisher.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import {
	closedPort,
	collectTopics,
	firstSeen,
	kcatSkip,
	produce,
	startMockKafka,
	waitFor,
	type Collector,
	type MockKafka,
	type StreamRecord
} from "../helpers/kafka.ts";
import { connectSocket, socketUrl, waitForEvent } from "../helpers/socket.ts";

const TOPICS = ["chat.messages", "chat.receipts", "chat.groups"];
const generousLimits: Partial<ChatConfig> = { rateLimit: { restPerMinute: 100_000, sendPerSecond: 1000, sendBurst: 1000 } };

function kafkaConfig(brokers: string[], extra: Partial<ChatConfig["kafka"]> = {}): ChatConfig["kafka"] {
	return { brokers, topicPrefix: "chat.", clientId: `test-${process.pid}`, inboundBots: [], pollIntervalMs: 200, idempotent: false, ...extra };
}

const stats = (app: TestApp) => app.broker.call<BridgeStats>("kafka-bridge.stats");

async function createGroup(app: TestApp, owner: TestUser, name: string, members: TestUser[]): Promise<string> {
	const res = await client(app, owner.accessToken).post("/api/groups", { name, memberIds: members.map(m => m.user.id) });
	assert.equal(res.status, 201, JSON.stringify(res.body));
	return res.body.id;
}

async function send(app: TestApp, user: TestUser, groupId: string, content: string) {
	const res = await client(app, user.accessToken).post("/api/messages", { groupId, content });
	assert.equal(res.status, 201, JSON.stringify(res.body));
	return res.body as { id: string; seq: number };
}

/** The seqs of message.created events of one conversation, in the order a de-duplicating consumer saw them. */
function createdSeqs(records: StreamRecord[], groupId: string): number[] {
	return firstSeen(records)
		.filter(r => r.event.type === "message.created" && r.event.groupId === groupId)
		.map(r => (r.event.payload as { message: { seq: number } }).message.seq);
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("kafka bridge", { skip: kcatSkip(), timeout: 240_000 }, () => {
	describe("with Kafka up", () => {
		let kafka: MockKafka;
		let app: TestApp;
		let collector: Collector;
		let alice: TestUser;
		let bob: TestUser;

		before(async () => {
			kafka = await startMockKafka();
			app = await startTestApp({ ...generousLimits, kafka: kafkaConfig(kafka.brokers) });
			[alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
			collector = await collectTopics(kafka.brokers, TOPICS);
		});
		after(async () => {
			await collector?.stop();
			await app?.stop();
			await kafka?.stop();
		});

		test("messages, receipts and group changes appear keyed by group, in order, each id once", async () => {
			const groupId = await createGroup(app, alice, "Stream", [bob]);
			const sent = [];
			for (let i = 1; i <= 20; i++) sent.push(await send(app, i % 2 ? alice : bob, groupId, `m${i}`));
			const del = await client(app, alice.accessToken).del(`/api/messages/${sent[2].id}`);
			assert.equal(del.status, 200, JSON.stringify(del.body));
			const seen = await app.broker.call(
				"messages.markSeen",
				{ groupId, seq: 20 },
				{ meta: { user: callerSigner(app.broker).signUser(alice.user, Date.now() / 1000 + 60) } }
			);
			assert.equal((seen as { moved: boolean }).moved, true);
			const renamed = await client(app, alice.accessToken).put(`/api/groups/${groupId}`, { name: "Stream 2" });
			assert.equal(renamed.status, 200, JSON.stringify(renamed.body));

			const ofGroup = () => collector.records.filter(r => r.event.groupId === groupId);
			await waitFor("all events of the conversation on Kafka", () => {
				const types = ofGroup().map(r => r.event.type);
				return (
					types.filter(t => t === "message.created").length === 21 &&
					types.includes("message.deleted") &&
					types.includes("message.seen") &&
					types.includes("group.updated")
				);
			});
			const records = ofGroup();
			for (const r of records) {
				assert.equal(r.key, groupId);
				assert.equal(r.event.version, 1);
				assert.match(r.event.id, /^[a-f0-9]{24}$/);
				assert.ok(!Number.isNaN(Date.parse(r.event.occurredAt)));
			}
			assert.equal(new Set(records.map(r => r.event.id)).size, records.length, "no event id is delivered twice");

			const messages = records.filter(r => r.topic === "chat.messages");
			assert.deepEqual(createdSeqs(messages, groupId), range(21), "the rename's system line takes seq 21");
			const renameLine = (messages.findLast(r => r.event.type === "message.created")!.event.payload as unknown as { message: Record<string, unknown> }).message;
			assert.deepEqual(
				[renameLine.senderId, renameLine.content, renameLine.system],
				[alice.user.id, "", { type: "group.renamed", name: "Stream 2", previousName: "Stream" }]
			);
			const created = messages.find(r => r.event.type === "message.created")!.event.payload as unknown as { message: Record<string, unknown> };
			assert.equal(created.message.content, "m1");
			assert.equal(created.message.senderId, alice.user.id);
			const deletedAt = messages.findIndex(r => r.event.type === "message.deleted");
			const createdThirdAt = messages.findIndex(r => r.event.type === "message.created" && (r.event.payload as any).message.seq === 3);
			assert.ok(deletedAt > createdThirdAt, "the deletion follows the creation");
			assert.deepEqual(messages[deletedAt].event.payload, {
				message: {
					...(messages[createdThirdAt].event.payload as any).message,
					content: "",
					deletedAt: (messages[deletedAt].event.payload as any).message.deletedAt,
					version: 21
				},
				actorId: alice.user.id
			});

			const receipts = records.filter(r => r.topic === "chat.receipts");
			assert.deepEqual(
				receipts.map(r => [r.event.type, r.event.payload]),
				[["message.seen", { userId: alice.user.id, seq: 20 }]]
			);

			const groups = records.filter(r => r.topic === "chat.groups");
			assert.deepEqual(
				groups.map(r => r.event.type),
				["group.created", "group.updated"]
			);
			const createdGroup = groups[0].event.payload as {
				group: { name: string; members: { userId: string; role: string }[] };
				memberIds: string[];
				actorId: string;
			};
			assert.equal(createdGroup.group.name, "Stream");
			assert.deepEqual(createdGroup.group.members, [
				{ userId: alice.user.id, role: "owner" },
				{ userId: bob.user.id, role: "member" }
			]);
			assert.equal(createdGroup.actorId, alice.user.id);
			assert.equal((groups[1].event.payload as { group: { name: string } }).group.name, "Stream 2");

			const s = await waitFor("an empty backlog", async () => ((await stats(app)).backlog === 0 ? stats(app) : null));
			assert.equal(s.isLeader, true);
			assert.equal(s.leader, app.broker.nodeID);
			assert.ok(s.published >= 24);
		});

		test("edits stream as message.updated on the messages topic, in version order with the conversation's other changes", async () => {
			const groupId = await createGroup(app, alice, "Edits", [bob]);
			const a = client(app, alice.accessToken);
			const original = await send(app, alice, groupId, "first words");
			const reply = await client(app, bob.accessToken).post("/api/messages", { groupId, content: "an answer", replyTo: original.id });
			assert.equal(reply.status, 201, JSON.stringify(reply.body));
			for (const content of ["second words", "third words"]) assert.equal((await a.request("PATCH", `/api/messages/${original.id}`, { content })).status, 200);
			await send(app, bob, groupId, "later");
			assert.equal((await a.del(`/api/messages/${original.id}`)).status, 200);

			const expected = [
				["message.created", 1, "first words"],
				["message.created", 2, "an answer"],
				["message.updated", 1, "second words"],
				["message.updated", 2, "an answer"],
				["message.updated", 1, "third words"],
				["message.updated", 2, "an answer"],
				["message.created", 3, "later"],
				["message.deleted", 1, ""],
				["message.updated", 2, "an answer"]
			];
			const events = await waitFor("the conversation's message events", () => {
				const mine = firstSeen(collector.records).filter(r => r.event.groupId === groupId && r.topic === "chat.messages");
				return mine.length >= expected.length ? mine.map(r => ({ type: r.event.type, message: (r.event.payload as any).message })) : null;
			});
			assert.deepEqual(
				events.map(e => [e.type, e.message.seq, e.message.content]),
				expected
			);
			assert.deepEqual(
				events.map(e => e.message.version),
				range(expected.length),
				"one version per change, in order"
			);
			assert.deepEqual(
				events.filter(e => e.message.seq === 2).map(e => e.message.replyTo.excerpt),
				["first words", "second words", "third words", null],
				"the reply's excerpt follows the original"
			);
			assert.ok(events[2].message.editedAt);
		});

		test("member changes stream on the groups topic", async () => {
			const carol = await registerUser(app, "carol");
			const groupId = await createGroup(app, alice, "Members", []);
			const added = await client(app, alice.accessToken).post(`/api/groups/${groupId}/members`, { userIds: [carol.user.id] });
			assert.equal(added.status, 200, JSON.stringify(added.body));
			const removed = await client(app, alice.accessToken).del(`/api/groups/${groupId}/members/${carol.user.id}`);
			assert.equal(removed.status, 200, JSON.stringify(removed.body));
			const ofTopic = (topic: string) => collector.records.filter(r => r.event.groupId === groupId && r.topic === topic);
			const types = await waitFor("member events", () => {
				const t = ofTopic("chat.groups").map(r => r.event.type);
				return t.length >= 3 && ofTopic("chat.messages").length >= 2 ? t : null;
			});
			assert.deepEqual(types, ["group.created", "group.member.added", "group.member.removed"]);
			assert.deepEqual(
				ofTopic("chat.messages").map(r => [r.event.type, (r.event.payload as any).message.seq, (r.event.payload as any).message.system]),
				[
					["message.created", 1, { type: "members.added", userIds: [carol.user.id] }],
					["message.created", 2, { type: "member.removed", userId: carol.user.id }]
				],
				"each change's system line streams as a message"
			);
			const events = ofTopic("chat.groups").map(r => r.event.payload as any);
			assert.deepEqual(events[1].userIds, [carol.user.id]);
			assert.deepEqual(events[1].memberIds, [alice.user.id, carol.user.id]);
			assert.equal(events[2].userId, carol.user.id);
			assert.deepEqual(events[2].memberIds, [alice.user.id]);
		});

		test("a backlog larger than KAFKA_MAX_BATCH_BYTES goes out in several sends within it, in order, each id once", async () => {
			// The bridge stops, so that the conversation's sends wait in the outbox as during an outage.
			await app.broker.destroyService("kafka-bridge");
			const groupId = await createGroup(app, alice, "Backlog", [bob]);
			for (let i = 1; i <= 40; i++) await send(app, i % 2 ? alice : bob, groupId, `${i} `.padEnd(2000, "x"));

			const maxBatchBytes = 16 * 1024;
			const config = { ...app.config.kafka, maxBatchBytes };
			const sends: ProducerBatch[] = [];
			const real = kafkaClient(config, app.broker.logger, "backlog-test");
			const recording: Pick<Kafka, "producer"> = {
				producer: options => {
					const producer = real.producer(options);
					const sendBatch = producer.sendBatch.bind(producer);
					producer.sendBatch = batch => (sends.push(batch), sendBatch(batch));
					return producer;
				}
			};
			const publisher = new OutboxPublisher({ config, client: recording, broker: app.broker, logger: app.broker.logger, isLeader: () => true });
			try {
				await publisher.pump();
				const ofGroup = () => createdSeqs(collector.records, groupId);
				await waitFor("the backlog on Kafka", () => ofGroup().length >= 40);
				assert.deepEqual(ofGroup(), range(40));
				const mine = collector.records.filter(r => r.event.groupId === groupId);
				assert.equal(new Set(mine.map(r => r.event.id)).size, mine.length, "no event id is delivered twice");
				const sizes = sends.map(b => b.topicMessages!.reduce((n, t) => n + t.messages.reduce((m, r) => m + Buffer.byteLength(r.value as string), 0), 0));
				assert.ok(sends.length >= 5, `${sends.length} sends of ${sizes.join(", ")} bytes`);
				for (const size of sizes) assert.ok(size <= maxBatchBytes, `a send of ${size} bytes`);
				assert.equal(publisher.stats().truncated, 0);
				assert.equal((await publisher.backlog()).documents, 0);
			} finally {
				await publisher.stop();
				app.broker.createService(KafkaBridgeService);
			}
		});
	});

	test("while Kafka is unreachable the chat works and the outbox keeps every event; all 200 are published once it is up", async () => {
		const app = await startTestApp({ ...generousLimits, kafka: kafkaConfig([`127.0.0.1:${await closedPort()}`]) });
		let kafka: MockKafka | undefined;
		let collector: Collector | undefined;
		try {
			const [alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
			const groups = [await createGroup(app, alice, "One", [bob]), await createGroup(app, bob, "Two", [alice])];
			for (let i = 0; i < 100; i++) {
				await Promise.all([send(app, alice, groups[0], `one ${i}`), send(app, bob, groups[1], `two ${i}`)]);
			}
			const history = await client(app, bob.accessToken).get(`/api/messages/${groups[0]}?limit=100`);
			assert.equal(history.body.items.length, 100, "the chat works without Kafka");

			const down = await waitFor("the bridge to notice", async () => {
				const s = await stats(app);
				return s.lastError ? s : null;
			});
			assert.equal(down.published, 0);
			assert.ok(down.backlog >= 202, `backlog ${down.backlog}`);
			assert.ok(down.lagSeconds >= 0);

			kafka = await startMockKafka();
			collector = await collectTopics(kafka.brokers, TOPICS);
			// The mock listens on a port of its own choosing: restart the bridge with the new address.
			app.config.kafka.brokers = kafka.brokers;
			await app.broker.destroyService("kafka-bridge");
			app.broker.createService(KafkaBridgeService);

			const records = collector.records;
			await waitFor(
				"all 200 messages on Kafka",
				() => createdSeqs(records, groups[0]).length === 100 && createdSeqs(records, groups[1]).length === 100,
				120_000
			);
			assert.deepEqual(createdSeqs(records, groups[0]), range(100));
			assert.deepEqual(createdSeqs(records, groups[1]), range(100));
			await waitFor("the group events too", () => records.filter(r => r.event.type === "group.created").length === 2);
			const up = await waitFor("an empty backlog", async () => {
				const s = await stats(app);
				return s.backlog === 0 ? s : null;
			});
			assert.equal(up.lagSeconds, 0);
			assert.ok(up.published >= 202);
		} finally {
			await collector?.stop();
			await app.stop();
			await kafka?.stop();
		}
	});

	describe("inbound", () => {
		let kafka: MockKafka;
		let app: TestApp;
		let alice: TestUser;
		let bot: TestUser;
		let groupId: string;

		before(async () => {
			kafka = await startMockKafka();
			app = await startTestApp({ ...generousLimits, kafka: kafkaConfig(kafka.brokers) });
			[alice, bot] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bot")]);
			// Restart the bridge now that the bot's username is known.
			app.config.kafka.inboundBots = [bot.user.username];
			await app.broker.destroyService("kafka-bridge");
			app.broker.createService(KafkaBridgeService);
			groupId = await createGroup(app, alice, "With a bot", [bot]);
		});
		after(async () => {
			await app?.stop();
			await kafka?.stop();
		});

		test("a record posts a message as the bot, which members receive; malformed and refused records are skipped", async () => {
			const socket = await connectSocket(socketUrl(app.broker), alice.accessToken);
			try {
				const live = waitForEvent<{ content: string; senderId: string }>(socket, "chat.message.incoming", m => m.content === "deploy finished", 90_000);
				const outsider = await registerUser(app, "outsider");
				const elsewhere = await createGroup(app, outsider, "No bot here", []);
				await produce(kafka.brokers, "chat.inbound", [
					{ value: "not json at all" },
					{ value: JSON.stringify({ botUsername: bot.user.username, content: "no group" }) },
					{ value: JSON.stringify({ botUsername: alice.user.username, groupId, content: "impersonation" }) },
					{ value: JSON.stringify({ botUsername: bot.user.username, groupId: elsewhere, content: "not a member there" }) },
					{ value: JSON.stringify({ botUsername: bot.user.username, groupId, content: "   " }) },
					{ key: groupId, value: JSON.stringify({ botUsername: bot.user.username, groupId, content: "deploy finished", clientMessageId: "deploy-42" }) },
					// The same post again (a retrying integration): stored once.
					{ key: groupId, value: JSON.stringify({ botUsername: bot.user.username, groupId, content: "deploy finished", clientMessageId: "deploy-42" }) }
				]);
				const incoming = await live;
				assert.equal(incoming.senderId, bot.user.id);

				const s = await waitFor(
					"every record handled",
					async () => {
						const st = await stats(app);
						return st.inbound.posted + st.inbound.skipped >= 7 ? st : null;
					},
					90_000
				);
				assert.equal(s.inbound.skipped, 5);
				const history = await client(app, alice.accessToken).get(`/api/messages/${groupId}`);
				const posted = history.body.items.filter((m: { senderId: string }) => m.senderId === bot.user.id);
				assert.deepEqual(
					posted.map((m: { content: string }) => m.content),
					["deploy finished"]
				);
				const other = await client(app, outsider.accessToken).get(`/api/messages/${elsewhere}`);
				assert.equal(other.body.items.length, 0);

				// The consumer survived the bad records: a later one is still posted.
				await produce(kafka.brokers, "chat.inbound", [{ value: JSON.stringify({ botUsername: bot.user.username, groupId, content: "still here" }) }]);
				await waitFor(
					"the later record",
					async () => {
						const h = await client(app, alice.accessToken).get(`/api/messages/${groupId}`);
						return h.body.items.some((m: { content: string }) => m.content === "still here");
					},
					60_000
				);
			} finally {
				socket.close();
			}
		});

		test("a record that finds messages.send unavailable is delivered again and posted once messages is back", async () => {
			// What Moleculer answers while the messages node restarts: a 404 that is retryable.
			const call = app.broker.call.bind(app.broker);
			let refused = 0;
			app.broker.call = ((action: string, ...rest: unknown[]) => {
				if (action === "messages.send" && refused < 3) {
					refused++;
					return Promise.reject(new Errors.ServiceNotFoundError({ action, nodeID: app.broker.nodeID }));
				}
				return (call as (...args: unknown[]) => unknown)(action, ...rest);
			}) as typeof app.broker.call;
			try {
				const before = (await stats(app)).inbound;
				await produce(kafka.brokers, "chat.inbound", [
					{ key: groupId, value: JSON.stringify({ botUsername: bot.user.username, groupId, content: "back again" }) }
				]);
				const posts = await waitFor(
					"the post after messages is back",
					async () => {
						const h = await client(app, alice.accessToken).get(`/api/messages/${groupId}`);
						const found = h.body.items.filter((m: { content: string }) => m.content === "back again");
						return found.length > 0 ? found : null;
					},
					90_000
				);
				assert.equal(refused, 3, "kafkajs delivered the record again after each refusal");
				assert.equal(posts.length, 1);
				const after = (await stats(app)).inbound;
				assert.equal(after.skipped, before.skipped, "nothing skipped");
			} finally {
				app.broker.call = call;
			}
		});
	});
});
