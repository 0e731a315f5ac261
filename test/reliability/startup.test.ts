import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, test } from "node:test";
import { freePort, RABBITMQ, reachable, TestCluster, waitUntil, type NodeProcess } from "../helpers/cluster.ts";

/**
 * /ready from the first moment a node process exists: 503 (with Retry-After) while it starts, and the
 * instant it says 200 a real request works, every time. Then the same for an API node whose domain
 * services live on another node that starts later.
 */

const ROUNDS = 5;
const noRabbit = !(await reachable(RABBITMQ));
if (noRabbit && process.env.CI === "true") throw new Error("startup tests need RabbitMQ on 127.0.0.1:5672");

interface Probed {
	status: number;
	retryAfter: string | null;
	body: { status?: string; missing?: string[] } | null;
}

async function probe(url: string): Promise<Probed | null> {
	try {
		const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
		const text = await res.text();
		return { status: res.status, retryAfter: res.headers.get("retry-after"), body: text ? JSON.parse(text) : null };
	} catch {
		return null; // not listening yet
	}
}

/** Polls /ready as fast as it answers until it says 200; returns every answer before that. */
async function pollUntilReady(node: NodeProcess, base: string, timeoutMs = 60_000): Promise<Probed[]> {
	const seen: Probed[] = [];
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		if (node.process.exitCode != null) throw new Error(`node exited (${node.process.exitCode}) before it was ready:\n${node.log()}`);
		if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms:\n${node.log()}`);
		const answer = await probe(`${base}/ready`);
		if (answer?.status === 200) return seen;
		if (answer) seen.push(answer);
		await new Promise(resolve => setTimeout(resolve, 2));
	}
}

async function register(base: string, username: string): Promise<{ status: number; body: unknown }> {
	const res = await fetch(`${base}/api/auth/register`, {
		method: "POST",
		headers: { "content-type": "application/json" },
		body: JSON.stringify({ username, password: "correct horse battery" })
	});
	return { status: res.status, body: await res.json() };
}

describe("startup readiness", { timeout: 240_000 }, () => {
	const cluster = new TestCluster();
	after(() => cluster.stop());

	test(`an embedded node: /ready is 503 + Retry-After until it is, then the first request succeeds (${ROUNDS} starts)`, async () => {
		for (let round = 0; round < ROUNDS; round++) {
			const port = await freePort();
			const node = cluster.startNode(`embedded-${round}`, { PORT: String(port), PROBE_PORT: String(await freePort()) });
			const base = `http://127.0.0.1:${port}`;
			const probeBase = `http://127.0.0.1:${node.env.PROBE_PORT}`;
			// The probe port listens before the services start: it is the first to answer.
			const early = await waitUntil("the probe port", () => probe(`${probeBase}/health`), 30_000, 2);
			assert.equal(early.status, 200, "/health says alive while the node starts");
			const notReady = await pollUntilReady(node, base);
			const first = await register(base, `first_${round}_${process.pid % 1000}`);
			assert.equal(first.status, 201, `round ${round}: the first request after /ready said 200: ${JSON.stringify(first.body)}`);
			for (const answer of notReady) {
				assert.equal(answer.status, 503, JSON.stringify(answer));
				assert.equal(answer.retryAfter, "1");
				assert.equal(answer.body?.status, "not ready");
			}
			assert.equal((await probe(`${probeBase}/ready`))?.status, 200, "the probe port agrees");
			assert.equal(await node.kill("SIGTERM"), 0, node.log());
		}
	});

	test(
		"an API node is not ready until auth, users, groups and messages are reachable on another node",
		{ skip: noRabbit && "RabbitMQ is not running on 127.0.0.1:5672" },
		async () => {
			const shared = {
				TRANSPORTER: `amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`,
				CLUSTER_SECRET: randomBytes(32).toString("hex"),
				PRESENCE_HEARTBEAT_SECONDS: "2"
			};
			for (let round = 0; round < 2; round++) {
				const port = await freePort();
				const api = cluster.startNode(`api-${round}`, { ...shared, SERVICES: "api", PORT: String(port), NAMESPACE: `${cluster.namespace}-${round}` });
				const base = `http://127.0.0.1:${port}`;
				const waiting = await waitUntil("the API node to say it is waiting for the domain services", async () => {
					const answer = await probe(`${base}/ready`);
					return answer?.status === 503 && answer.body?.missing?.includes("auth") ? answer : null;
				});
				assert.deepEqual(waiting.body?.missing, ["auth", "groups", "messages", "users"]);
				assert.equal(waiting.retryAfter, "1");
				const core = cluster.startNode(`core-${round}`, {
					...shared,
					SERVICES: "users,auth,groups,messages,presence",
					NAMESPACE: `${cluster.namespace}-${round}`
				});
				await pollUntilReady(api, base);
				const first = await register(base, `clustered_${round}_${process.pid % 1000}`);
				assert.equal(first.status, 201, `round ${round}: ${JSON.stringify(first.body)}\n${api.log()}\n${core.log()}`);
				assert.equal(await api.kill("SIGTERM"), 0, api.log());
				assert.equal(await core.kill("SIGTERM"), 0, core.log());
			}
		}
	);
});
