import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ServiceBroker } from "moleculer";
import { loadConfig } from "../../lib/config.ts";
import { createReplBroker } from "../../app/repl.ts";
import { callEveryNode } from "../../repl-commands/lookup.ts";
import { userSessions } from "../../repl-commands/sessions.ts";
import { client, registerUser, type TestUser } from "../helpers/app.ts";
import path from "node:path";
import {
	freePort,
	nginxBinary,
	RABBITMQ,
	reachable,
	REDIS,
	TestCluster,
	waitUntil,
	WEB_BUILD_MARKER,
	writeWebBuild,
	type NodeProcess,
	type TcpProxy
} from "../helpers/cluster.ts";
import { closeAll, connectSocket, disconnected, emitWithAck, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

/**
 * Five node processes (`node server.ts`, the start command) against this machine's RabbitMQ and Redis,
 * reached through TCP proxies so that an outage can be simulated, with nginx in front using the repo's config.
 */

const RATE_LIMIT = 120;
const missing = [
	!(await reachable(RABBITMQ)) && "RabbitMQ on 127.0.0.1:5672",
	!(await reachable(REDIS)) && "Redis on 127.0.0.1:6379",
	!nginxBinary() && "nginx"
].filter(Boolean);
if (missing.length && process.env.CI === "true") throw new Error(`cluster tests need ${missing.join(", ")}`);

interface Message {
	id: string;
	groupId: string;
	seq: number;
	content: string;
}

describe("cluster", { skip: missing.length ? `missing ${missing.join(", ")}` : false, timeout: 300_000 }, () => {
	const cluster = new TestCluster();
	let amqp: TcpProxy;
	let redis: TcpProxy;
	let observer: ServiceBroker;
	let gateway: string;
	const direct: Record<string, string> = {};
	const nodes: Record<string, NodeProcess> = {};
	const sockets: ClientSocket[] = [];

	before(async () => {
		amqp = await cluster.proxy(RABBITMQ);
		redis = await cluster.proxy(REDIS);
		const shared = {
			TRANSPORTER: `amqp://guest:guest@${amqp.url}`,
			REDIS_URL: `redis://${redis.url}`,
			TRUST_PROXY: "true",
			RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
			PRESENCE_HEARTBEAT_SECONDS: "2",
			PRESENCE_GRACE_SECONDS: "1"
		};
		const ports = { apiA: await freePort(), apiB: await freePort(), socketA: await freePort(), socketB: await freePort(), nginx: await freePort() };
		const metricsPort = await freePort();
		nodes.core = cluster.startNode("core", {
			...shared,
			SERVICES: "users,auth,groups,messages,presence",
			METRICS_PORT: String(metricsPort),
			PROBE_PORT: String(await freePort())
		});
		nodes.apiA = cluster.startNode("api-a", { ...shared, SERVICES: "api", PORT: String(ports.apiA) });
		nodes.apiB = cluster.startNode("api-b", { ...shared, SERVICES: "api", PORT: String(ports.apiB) });
		nodes.socketA = cluster.startNode("socket-a", { ...shared, SERVICES: "socket", SOCKET_PORT: String(ports.socketA), PROBE_PORT: String(await freePort()) });
		nodes.socketB = cluster.startNode("socket-b", { ...shared, SERVICES: "socket", SOCKET_PORT: String(ports.socketB) });
		direct.apiA = `http://127.0.0.1:${ports.apiA}`;
		direct.apiB = `http://127.0.0.1:${ports.apiB}`;
		direct.metrics = `http://127.0.0.1:${metricsPort}/metrics`;
		direct.probe = `http://127.0.0.1:${nodes.socketA.env.PROBE_PORT}`;

		// The test joins the cluster as one more node (straight to RabbitMQ, so proxy cuts leave it connected).
		const config = loadConfig({
			NODE_ENV: "test",
			NAMESPACE: cluster.namespace,
			TRANSPORTER: `amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`,
			LOG_LEVEL: "error",
			DATA_DIR: ":memory:",
			CLUSTER_SECRET: cluster.clusterSecret
		});
		// An operator node, as `npm run repl` starts it: its calls of socket.* carry the operator pass.
		observer = createReplBroker(config, `observer-${cluster.namespace}`);
		await observer.start();

		try {
			await waitUntil(
				"every node to be ready",
				async () => {
					for (const url of [direct.apiA, direct.apiB]) if (!(await fetch(`${url}/ready`)).ok) return false;
					return (await fetch(`${direct.probe}/ready`)).ok;
				},
				90_000,
				250
			);
			await observer.waitForServices(["users", "auth", "groups", "messages", "presence", "api", "socket"], 60_000);
			await waitUntil("two api and two socket nodes", () => callEveryNode(observer, "socket.stats").then(s => s.answers.length === 2), 30_000);
		} catch (err) {
			throw new Error(`${(err as Error).message}\n${cluster.logs()}`, { cause: err });
		}
		await cluster.startNginx({
			listenPort: ports.nginx,
			apiServers: [`127.0.0.1:${ports.apiA}`, `127.0.0.1:${ports.apiB}`],
			socketServers: [`127.0.0.1:${ports.socketA}`, `127.0.0.1:${ports.socketB}`],
			// As shipped: the web build in nginx's root, so the SPA fallback is there to shadow what it should not.
			webRoot: writeWebBuild(path.join(cluster.dir, "web"))
		});
		gateway = `http://127.0.0.1:${ports.nginx}`;
	});

	after(async () => {
		closeAll(...sockets);
		await observer?.stop();
		await cluster.stop();
	});

	/** A socket through nginx, kept for cleanup. */
	async function connect(user: TestUser): Promise<ClientSocket> {
		const socket = await connectSocket(gateway, user.accessToken, {}, 15_000);
		sockets.push(socket);
		return socket;
	}

	async function nodeOf(user: TestUser): Promise<string[]> {
		return (await userSessions(observer, user.user.id)).nodes;
	}

	async function groupWith(owner: TestUser, ...members: TestUser[]): Promise<string> {
		const res = await client({ url: gateway }, owner.accessToken).post("/api/groups", { name: "cluster", memberIds: members.map(m => m.user.id) });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		return res.body.id;
	}

	test("probes: /ready through nginx, on the socket node's PROBE_PORT, and Prometheus metrics with chat metrics", async () => {
		const apiNodeIDs = [nodes.apiA.nodeID, nodes.apiB.nodeID];
		for (const [endpoint, status] of [
			["/ready", "ready"],
			["/health", "ok"]
		]) {
			const res = await fetch(`${gateway}${endpoint}`);
			const text = await res.text();
			assert.equal(res.status, 200, text);
			assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${endpoint} through nginx is the API node's probe, not the SPA: ${text}`);
			const body = JSON.parse(text) as { status: string; nodeID: string };
			assert.equal(body.status, status);
			assert.ok(apiNodeIDs.includes(body.nodeID), body.nodeID);
		}
		const page = await fetch(`${gateway}/c/some-conversation`);
		assert.equal(page.status, 200);
		assert.ok((await page.text()).includes(WEB_BUILD_MARKER), "deep links still get the web build's index.html");
		const probe = (await (await fetch(`${direct.probe}/ready`)).json()) as { status: string; transporter: boolean; nodeID: string };
		assert.deepEqual([probe.status, probe.transporter, probe.nodeID], ["ready", true, nodes.socketA.nodeID]);
		// Request metrics exist once the core node has served a request: make sure it has.
		const login = await client({ url: gateway }).post("/api/auth/login", { username: "nobody_here", password: "not a password" });
		assert.equal(login.status, 401);
		const metrics = await (await fetch(direct.metrics)).text();
		assert.match(metrics, /^moleculer_request_total\{/m);
		assert.match(metrics, /nodeID="core-/);
		assert.match(metrics, /^chat_messages_sent_total\{[^}]*\} 0$/m);
		assert.match(metrics, /^chat_sockets_connected\{[^}]*\} 0$/m);
	});

	test("a service with two instances is served by both (api, socket)", async () => {
		const served = new Set<string>();
		for (let i = 0; i < 20; i++) served.add((await observer.call<{ nodeID: string }>("api.health")).nodeID);
		assert.deepEqual([...served].sort(), [nodes.apiA.nodeID, nodes.apiB.nodeID].sort());
		const viaNginx = new Set<string>();
		for (let i = 0; i < 20; i++) viaNginx.add(((await (await fetch(`${gateway}/health`)).json()) as { nodeID: string }).nodeID);
		assert.equal(viaNginx.size, 2, "nginx spreads REST requests over both API nodes");
		const stats = (await callEveryNode<{ nodeID: string }>(observer, "socket.stats")).answers;
		assert.deepEqual(stats.map(s => s.nodeID).sort(), [nodes.socketA.nodeID, nodes.socketB.nodeID].sort());
	});

	test("cache invalidation: a member added through API node A can send through API node B at once", async () => {
		const [alice, bob] = await Promise.all([registerUser({ url: direct.apiA }, "inv"), registerUser({ url: direct.apiB }, "inv")]);
		const groupId = await groupWith(alice);
		const asBob = client({ url: direct.apiB }, bob.accessToken);
		// Twice, so that the refusal is cached (groups.membership) before the change; a non-member does not see the conversation.
		for (let i = 0; i < 2; i++) assert.equal((await asBob.post("/api/messages", { groupId, content: "not yet" })).status, 404);
		const added = await client({ url: direct.apiA }, alice.accessToken).post(`/api/groups/${groupId}/members`, { userIds: [bob.user.id] });
		assert.ok(added.status < 300, JSON.stringify(added.body));
		const sent = await asBob.post("/api/messages", { groupId, content: "now I can" });
		assert.equal(sent.status, 201, JSON.stringify(sent.body));
		const removed = await client({ url: direct.apiB }, alice.accessToken).del(`/api/groups/${groupId}/members/${bob.user.id}`);
		assert.ok(removed.status < 300, JSON.stringify(removed.body));
		assert.equal((await client({ url: direct.apiA }, bob.accessToken).post("/api/messages", { groupId, content: "gone" })).status, 404);
	});

	test("REST rate limits are shared by the API nodes through Redis (per user)", async () => {
		const user = await registerUser({ url: gateway }, "rate");
		// Counts are per clock-aligned minute: start in a fresh window rather than straddle two.
		const left = 60_000 - (Date.now() % 60_000);
		if (left < 20_000) await new Promise(r => setTimeout(r, left + 100));
		const a = client({ url: direct.apiA }, user.accessToken);
		const b = client({ url: direct.apiB }, user.accessToken);
		let last = { status: 0, remaining: "" };
		for (let i = 0; i < RATE_LIMIT; i++) {
			const res = await (i % 2 ? a : b).get("/api/users/profile");
			last = { status: res.status, remaining: res.headers.get("x-rate-limit-remaining") ?? "" };
			assert.equal(res.status, 200, `request ${i + 1}`);
		}
		assert.equal(last.remaining, "0");
		assert.equal((await a.get("/api/users/profile")).status, 429);
		assert.equal((await b.get("/api/users/profile")).status, 429);
		// Another user is not affected.
		const other = await registerUser({ url: gateway }, "rate");
		assert.equal((await client({ url: direct.apiA }, other.accessToken).get("/api/users/profile")).status, 200);
	});

	let alice: TestUser;
	let bob: TestUser;
	let groupId: string;
	let aliceSocket: ClientSocket;
	let bobSocket: ClientSocket;

	test("users on different socket nodes exchange messages, receipts, typing and presence", async () => {
		[alice, bob] = await Promise.all([registerUser({ url: gateway }, "alice"), registerUser({ url: gateway }, "bob")]);
		groupId = await groupWith(alice, bob);
		aliceSocket = await connect(alice);
		const bobOnline = waitForEvent(
			aliceSocket,
			"user.presence",
			(p: { userId: string; status: string }) => p.userId === bob.user.id && p.status === "online",
			15_000
		);
		bobSocket = await connect(bob);
		const [aliceNodes, bobNodes] = await Promise.all([nodeOf(alice), nodeOf(bob)]);
		assert.equal(aliceNodes.length, 1);
		assert.equal(bobNodes.length, 1);
		assert.notEqual(aliceNodes[0], bobNodes[0], "nginx (least_conn) put the two users on different socket nodes");
		await bobOnline;

		const incoming = waitForEvent<Message>(bobSocket, "chat.message.incoming", m => m.groupId === groupId);
		const ack = await emitWithAck(aliceSocket, "chat.message.send", { groupId, content: "hello across nodes", clientMessageId: "x-1" });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		const message = await incoming;
		assert.equal(message.content, "hello across nodes");

		const seen = waitForEvent<{ userId: string; seq: number }>(aliceSocket, "chat.message.seen", e => e.userId === bob.user.id);
		assert.equal((await emitWithAck(bobSocket, "chat.message.seen", { groupId, seq: message.seq })).ok, true);
		assert.equal((await seen).seq, message.seq);

		const typing = waitForEvent<{ userId: string; typing: boolean }>(aliceSocket, "typing", e => e.userId === bob.user.id && e.typing);
		bobSocket.emit("typing.start", { groupId });
		await typing;
	});

	test("a logout through one API node ends that sign-in on every node: its sockets on both socket nodes, its access token on both API nodes", async () => {
		const carol = await registerUser({ url: gateway }, "carol");
		const phone = await client({ url: gateway }).post("/api/auth/login", { username: carol.user.username, password: "correct horse battery" });
		const tabs = [await connect(carol), await connect(carol)];
		const phoneSocket = await connectSocket(gateway, phone.body.accessToken, {}, 15_000);
		sockets.push(phoneSocket);
		const nodes = await nodeOf(carol);
		assert.equal(new Set(nodes).size, 2, `carol's sockets are on both socket nodes (${nodes.join(", ")})`);
		const told = tabs.map(tab => waitForEvent<{ reason: string }>(tab, "session.revoked", () => true, 15_000));
		const gone = tabs.map(tab => disconnected(tab, 15_000));
		assert.equal((await client({ url: direct.apiB }).post("/api/auth/logout", { refreshToken: carol.refreshToken })).status, 200);
		for (const { reason } of await Promise.all(told)) assert.equal(reason, "You signed out in another tab.");
		await Promise.all(gone);
		for (const url of [direct.apiA, direct.apiB])
			assert.equal((await client({ url }, carol.accessToken).get("/api/users/profile")).body.type, "SESSION_REVOKED");
		assert.ok(phoneSocket.connected, "the other sign-in's socket stays");
		assert.equal((await client({ url: direct.apiA }, phone.body.accessToken).get("/api/users/profile")).status, 200);
	});

	test("kill -9 of a socket node while messages flow: its clients reconnect through nginx, sync, and end with every message once, in order", async () => {
		assert.ok(bobSocket, "the previous test connected bob");
		const victimID = (await nodeOf(bob))[0];
		const victim = Object.values(nodes).find(n => n.nodeID === victimID)!;
		const survivor = (await nodeOf(alice))[0];
		assert.notEqual(victimID, survivor);

		// Bob's client: a timeline keyed by seq, fed by live events and by chat.sync after a reconnect.
		const timeline = new Map<number, Message>();
		const keep = (m: Message) => m.groupId === groupId && timeline.set(m.seq, m);
		const initial = await client({ url: gateway }, bob.accessToken).get(`/api/messages/${groupId}?limit=100`);
		for (const m of (initial.body.items ?? initial.body.messages ?? initial.body) as Message[]) keep(m);
		bobSocket.on("chat.message.incoming", keep);

		const sent: string[] = [];
		let sending = true;
		const sender = (async () => {
			for (let i = 0; sending && i < 200; i++) {
				const content = `flow ${i}`;
				const ack = await emitWithAck(aliceSocket, "chat.message.send", { groupId, content, clientMessageId: `flow-${i}` }, 15_000);
				assert.equal(ack.ok, true, JSON.stringify(ack));
				sent.push(content);
				await new Promise(r => setTimeout(r, 50));
			}
		})();

		await waitUntil("some messages before the crash", () => sent.length >= 10, 30_000);
		const bobDropped = waitForEvent(bobSocket, "disconnect", () => true, 30_000);
		victim.process.kill("SIGKILL");
		await bobDropped;
		const offline = await waitUntil(
			"bob's presence to expire with the dead node",
			async () => {
				const res = await client({ url: gateway }, alice.accessToken).get(`/api/presence?userIds=${bob.user.id}`);
				return res.body.items?.[0]?.status === "offline";
			},
			30_000,
			250
		);
		assert.ok(offline);

		// Reconnect through nginx: the dead upstream refuses, nginx passes the upgrade to the other node.
		// The sync cursor is what the client held when it lost the connection; live events resume at once.
		const lastSeen = Math.max(0, ...timeline.keys());
		bobSocket = await connect(bob);
		bobSocket.on("chat.message.incoming", keep);
		assert.deepEqual(
			(await nodeOf(bob)).filter(n => n !== victimID),
			[survivor]
		);
		for (let cursor = lastSeen, more = true; more;) {
			const sync = await emitWithAck(bobSocket, "chat.sync", { cursors: { [groupId]: cursor } });
			assert.equal(sync.ok, true, JSON.stringify(sync));
			const item = (sync.items as { groupId: string; messages: Message[]; hasMore: boolean }[]).find(i => i.groupId === groupId)!;
			item.messages.forEach(keep);
			more = item.hasMore;
			cursor = Math.max(cursor, ...item.messages.map(m => m.seq));
		}
		await waitUntil("more messages after the reconnect", () => sent.length >= 40, 60_000);
		sending = false;
		await sender;
		await waitUntil("bob to hold every message", () => timeline.size >= sent.length + 1, 15_000).catch(() => undefined);

		const seqs = [...timeline.keys()].sort((x, y) => x - y);
		assert.deepEqual(
			seqs,
			Array.from({ length: seqs.length }, (_, i) => i + 1),
			"contiguous seqs, no gap and no duplicate"
		);
		const flow = seqs.map(s => timeline.get(s)!.content).filter(c => c.startsWith("flow "));
		assert.deepEqual(flow, sent, "every acknowledged message exactly once, in send order");

		const online = await waitUntil(
			"bob's presence to recover",
			async () => {
				const res = await client({ url: gateway }, alice.accessToken).get(`/api/presence?userIds=${bob.user.id}`);
				return res.body.items?.[0]?.status === "online";
			},
			30_000,
			250
		);
		assert.ok(online);
	});

	async function outage(proxy: TcpProxy, ms: number, during: () => Promise<void>): Promise<void> {
		await proxy.cut();
		try {
			await Promise.all([during(), new Promise(r => setTimeout(r, ms))]);
		} finally {
			await proxy.restore();
		}
	}

	for (const [name, proxyOf] of [
		["RabbitMQ", () => amqp],
		["Redis", () => redis]
	] as const) {
		test(`${name} outage: the cluster recovers without restarts and no acknowledged message is lost`, async () => {
			const a = client({ url: gateway }, alice.accessToken);
			const groupId = await groupWith(alice, bob);
			const acknowledged: string[] = [];
			const send = async (content: string) => {
				const res = await a.post("/api/messages", { groupId, content, clientMessageId: content }).catch(() => null);
				if (res?.status === 201) acknowledged.push(content);
			};
			for (let i = 0; i < 5; i++) await send(`${name}-before-${i}`);
			let i = 0;
			await outage(proxyOf(), 4000, async () => {
				const until = Date.now() + 4000;
				while (Date.now() < until) {
					await send(`${name}-during-${i++}`);
					await new Promise(r => setTimeout(r, 200));
				}
			});
			await waitUntil(
				`the cluster to serve sends again after the ${name} outage`,
				async () => {
					const res = await a.post("/api/messages", { groupId, content: `${name}-after`, clientMessageId: `${name}-after` });
					if (res.status === 201 && !acknowledged.includes(`${name}-after`)) acknowledged.push(`${name}-after`);
					return res.status === 201;
				},
				60_000,
				500
			);
			const live = waitForEvent<Message>(bobSocket, "chat.message.incoming", m => m.content === `${name}-live`, 20_000);
			assert.equal((await a.post("/api/messages", { groupId, content: `${name}-live` })).status, 201);
			await live;
			for (const n of Object.values(nodes))
				if (n !== undefined && n.process.signalCode !== "SIGKILL") assert.equal(n.process.exitCode, null, `${n.name} is still running`);

			const history = await a.get(`/api/messages/${groupId}?limit=100`);
			const contents = ((history.body.items ?? history.body.messages ?? history.body) as Message[]).map(m => m.content);
			for (const content of acknowledged) assert.equal(contents.filter(c => c === content).length, 1, `${content} stored once`);
		});
	}

	test("graceful shutdown (SIGTERM): /ready turns 503 at once, clients get a reconnect hint, the node exits 0", async () => {
		const nodeID = (await nodeOf(alice))[0];
		const node = Object.values(nodes).find(n => n.nodeID === nodeID)!;
		const hint = waitForEvent<{ reconnect: boolean }>(aliceSocket, "server.shutdown", () => true, 20_000);
		const closed = waitForEvent(aliceSocket, "disconnect", () => true, 30_000);
		node.process.kill("SIGTERM");
		if (node.env.PROBE_PORT)
			await waitUntil("/ready to report draining", async () => (await fetch(`http://127.0.0.1:${node.env.PROBE_PORT}/ready`)).status === 503, 5_000, 50);
		assert.equal((await hint).reconnect, true);
		await closed;
		assert.equal(await node.exited, 0);
	});
});
