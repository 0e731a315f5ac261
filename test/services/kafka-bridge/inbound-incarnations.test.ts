import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatConfig } from "../../../lib/config.ts";
import type { BridgeStats } from "../../../services/kafka-bridge/kafka-bridge.service.ts";
import KafkaBridgeService from "../../../services/kafka-bridge/kafka-bridge.service.ts";
import { appActions, client, registerUser, startTestApp, type TestApp, type TestUser } from "../../helpers/app.ts";
import { deferredCleanups, kcatSkip, produce, startMockKafka, waitFor, type MockKafka } from "../../helpers/kafka.ts";

const defer = deferredCleanups();
const TOPIC = "chat.inbound";

const stats = (app: TestApp) => app.broker.call<BridgeStats>("kafka-bridge.stats");

/** A fresh bridge (and so a fresh inbound consumer and fresh stats) on `brokers`. */
async function restartBridge(app: TestApp, brokers: string[]): Promise<void> {
	app.config.kafka.brokers = brokers;
	await app.broker.destroyService("kafka-bridge");
	app.broker.createService(KafkaBridgeService);
}

async function botContents(app: TestApp, reader: TestUser, groupId: string, bot: TestUser): Promise<string[]> {
	const history = await client(app, reader.accessToken).get(`/api/messages/${groupId}?limit=100`);
	assert.equal(history.status, 200, JSON.stringify(history.body));
	return history.body.items.filter((m: { senderId: string }) => m.senderId === bot.user.id).map((m: { content: string }) => m.content);
}

/** Waits until the running bridge has handled `n` inbound records. */
const handled = (app: TestApp, n: number) =>
	waitFor(
		`${n} inbound records handled`,
		async () => {
			const s = await stats(app);
			return s.inbound.posted + s.inbound.skipped >= n ? { posted: s.inbound.posted, skipped: s.inbound.skipped } : null;
		},
		90_000
	);

test(
	"inbound records without a clientMessageId: a redelivered record is stored once, a new cluster's records at the same offsets are stored too",
	{ skip: kcatSkip(), timeout: 240_000 },
	async () => {
		let kafka: MockKafka = await startMockKafka();
		defer(() => kafka.stop());
		const kafkaConfig: ChatConfig["kafka"] = {
			brokers: kafka.brokers,
			topicPrefix: "chat.",
			clientId: `test-incarnations-${process.pid}`,
			inboundBots: [],
			pollIntervalMs: 200,
			idempotent: false
		};
		const app = await startTestApp({ rateLimit: { restPerMinute: 100_000, sendPerSecond: 1000, sendBurst: 1000 }, kafka: kafkaConfig });
		defer(() => app.stop());
		const [alice, bot] = [await registerUser(app, "alice"), await registerUser(app, "bot")];
		app.config.kafka.inboundBots = [bot.user.username];
		await restartBridge(app, kafka.brokers);
		const { group } = appActions(() => app);
		const deploys = await group(alice, "Deploys", [bot]);
		const alerts = await group(alice, "Alerts", [bot]);
		const post = (groupId: string, content: string) => ({ key: "bot", value: JSON.stringify({ botUsername: bot.user.username, groupId, content }) });

		// One key, so every record lands on the same partition at offsets 0, 1, 2 on either cluster.
		await produce(kafka.brokers, TOPIC, [post(deploys, "deploy 1"), post(deploys, "deploy 2"), post(deploys, "deploy 3")]);
		assert.deepEqual(await handled(app, 3), { posted: 3, skipped: 0 });
		assert.deepEqual(await botContents(app, alice, deploys, bot), ["deploy 1", "deploy 2", "deploy 3"]);

		// Redelivery: the consumer group's offsets are gone (a new group, as after offsets expire), so the bridge reads the same records again.
		app.config.kafka.clientId += "-again";
		await restartBridge(app, kafka.brokers);
		assert.deepEqual(await handled(app, 3), { posted: 3, skipped: 0 }, "each redelivered record is answered with its first copy");
		assert.deepEqual(await botContents(app, alice, deploys, bot), ["deploy 1", "deploy 2", "deploy 3"], "stored once");

		// The cluster is replaced: a new address, an empty topic, offsets from 0 again.
		const replaced = kafka;
		kafka = await startMockKafka();
		await restartBridge(app, kafka.brokers);
		await replaced.stop();
		await produce(kafka.brokers, TOPIC, [post(alerts, "alert 1"), post(deploys, "deploy 4"), post(deploys, "deploy 5")]);
		assert.deepEqual(await handled(app, 3), { posted: 3, skipped: 0 });
		assert.deepEqual(await botContents(app, alice, deploys, bot), ["deploy 1", "deploy 2", "deploy 3", "deploy 4", "deploy 5"]);
		assert.deepEqual(await botContents(app, alice, alerts, bot), ["alert 1"]);
	}
);
