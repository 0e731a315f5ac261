import assert from "node:assert/strict";
import { test } from "node:test";
import type { ServiceBroker } from "moleculer";
import { testConfig, type ChatConfig } from "../../lib/config.ts";
import { startNode } from "../../app/node.ts";
import type { BridgeStats } from "../../services/kafka-bridge/kafka-bridge.service.ts";
import { client, registerUser, startTestApp, type TestApp } from "../helpers/app.ts";
import { collectTopics, deferredCleanups, kcatSkip, startMockKafka, waitFor, type Collector, type MockKafka } from "../helpers/kafka.ts";

const defer = deferredCleanups();

test("two bridges in a cluster: one publishes, the other takes over when it leaves, no event twice", { skip: kcatSkip(), timeout: 180_000 }, async () => {
	const kafka: MockKafka = await startMockKafka();
	defer(() => kafka.stop());
	const suffix = `${process.pid}-${Date.now()}`;
	const kafkaConfig: ChatConfig["kafka"] = {
		brokers: kafka.brokers,
		topicPrefix: "chat.",
		clientId: `test-${suffix}`,
		inboundBots: [],
		pollIntervalMs: 200,
		idempotent: false
	};
	// Moleculer's in-process transporter: two nodes of one cluster in this process.
	const cluster = { transporter: "Fake", namespace: `test-kafka-${suffix}`, kafka: kafkaConfig };
	const nodeA: TestApp = await startTestApp({ ...cluster, nodeID: `a-${suffix}`, rateLimit: { restPerMinute: 100_000, sendPerSecond: 1000, sendBurst: 1000 } });
	defer(() => nodeA.stop());
	const nodeB: ServiceBroker = await startNode(testConfig({ ...cluster, nodeID: `b-${suffix}`, services: ["kafka-bridge"] }));
	defer(() => nodeB.stop());
	const collector: Collector = await collectTopics(kafka.brokers, ["chat.messages"]);
	defer(() => collector.stop());

	const statsOf = (nodeID: string) => nodeA.broker.call<BridgeStats, object>("kafka-bridge.stats", {}, { nodeID });
	await waitFor(
		"both bridges to agree on the leader",
		async () => {
			const [a, b] = await Promise.all([statsOf(nodeA.broker.nodeID), statsOf(nodeB.nodeID)]);
			return a.isLeader && !b.isLeader && b.leader === nodeA.broker.nodeID;
		},
		30_000
	);

	const alice = await registerUser(nodeA, "alice");
	const group = await client(nodeA, alice.accessToken).post("/api/groups", { name: "Cluster", memberIds: [] });
	assert.equal(group.status, 201, JSON.stringify(group.body));
	const send = async (content: string) => {
		const res = await client(nodeA, alice.accessToken).post("/api/messages", { groupId: group.body.id, content });
		assert.equal(res.status, 201, JSON.stringify(res.body));
	};
	const created = () => collector.records.filter(r => r.event.type === "message.created");

	for (let i = 0; i < 30; i++) await send(`first ${i}`);
	await waitFor("30 messages on Kafka", () => created().length >= 30);

	await nodeA.broker.destroyService("kafka-bridge");
	await waitFor("the second bridge to lead", async () => (await statsOf(nodeB.nodeID)).isLeader, 30_000);
	for (let i = 0; i < 30; i++) await send(`second ${i}`);
	await waitFor("60 messages on Kafka", () => created().length >= 60);
	// Give a duplicate the chance to show up before counting.
	await new Promise(resolve => setTimeout(resolve, 1000));

	const seqs = created().map(r => (r.event.payload as { message: { seq: number } }).message.seq);
	assert.deepEqual(
		seqs,
		Array.from({ length: 60 }, (_, i) => i + 1),
		"each event once, in order"
	);
	const b = await statsOf(nodeB.nodeID);
	assert.equal(b.published, 30);
	assert.equal(b.backlog, 0);
});
