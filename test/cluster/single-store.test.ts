import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { freePort, RABBITMQ, reachable, TestCluster, waitUntil } from "../helpers/cluster.ts";

const missing = !(await reachable(RABBITMQ));
if (missing && process.env.CI === "true") throw new Error("this test needs RabbitMQ on 127.0.0.1:5672");

describe("a second node with its own NeDB store for the same services", { skip: missing ? "no RabbitMQ" : false, timeout: 120_000 }, () => {
	const cluster = new TestCluster();
	after(() => cluster.stop());

	test("stops, saying why, while the first keeps serving", async () => {
		const shared = { TRANSPORTER: `amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`, SERVICES: "users,auth,groups,messages,presence" };
		const probe = await freePort();
		const first = cluster.startNode("core-a", { ...shared, PROBE_PORT: String(probe) });
		await waitUntil("the first node ready", async () => (await fetch(`http://127.0.0.1:${probe}/ready`).catch(() => null))?.ok);
		const second = cluster.startNode("core-b", shared);
		assert.equal(await second.exited, 1);
		assert.match(second.log(), /also runs auth, groups, messages, users, and this node keeps them in its own nedb store.*This node \(the younger\) stops/);
		assert.equal((await fetch(`http://127.0.0.1:${probe}/ready`)).status, 200);
		assert.equal(first.process.exitCode, null);
	});
});
