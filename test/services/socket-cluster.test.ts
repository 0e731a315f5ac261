import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import type { ServiceBroker } from "moleculer";
import { after, before, describe, test } from "node:test";
import { testConfig } from "../../lib/config.ts";
import { startNode } from "../../app/node.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { asOperator } from "../helpers/operator.ts";
import { closeAll, collect, connectSocket, emitWithAck, socketUrl, waitFor, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

const AMQP = process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";
const TIMEOUT = { timeout: 90_000 };

/** RabbitMQ is required in CI; elsewhere the suite skips with a reason when it is not running. */
async function rabbitSkipReason(): Promise<string | false> {
	const { hostname, port } = new URL(AMQP);
	const reachable = await new Promise<boolean>(resolve => {
		const socket = net.connect({ host: hostname, port: Number(port || 5672), timeout: 2000 });
		socket.once("connect", () => (socket.destroy(), resolve(true)));
		socket.once("error", () => resolve(false));
		socket.once("timeout", () => (socket.destroy(), resolve(false)));
	});
	if (reachable) return false;
	if (process.env.CI === "true") throw new Error(`RabbitMQ is required in CI (${AMQP})`);
	return `RabbitMQ not reachable at ${AMQP}`;
}

describe("socket gateway across two nodes (AMQP transporter)", () => {
	let skip: string | false = false;
	let nodeA: TestApp;
	let nodeB: ServiceBroker;
	let urlA: string, urlB: string;
	let alice: TestUser, bob: TestUser, carol: TestUser;
	let dmId: string;
	const open: ClientSocket[] = [];
	const connect = async (url: string, user: TestUser) => {
		const s = await connectSocket(url, user.accessToken);
		open.push(s);
		return s;
	};

	before(async () => {
		skip = await rabbitSkipReason();
		if (skip) return;
		const suffix = `${process.pid}-${randomBytes(3).toString("hex")}`;
		const cluster = { transporter: AMQP, namespace: `test-socket-${suffix}`, presence: { heartbeatSeconds: 1, graceSeconds: 1 } };
		nodeA = await startTestApp({ ...cluster, nodeID: `a-${suffix}` });
		nodeB = await startNode(testConfig({ ...cluster, nodeID: `b-${suffix}`, services: ["socket"], host: "127.0.0.1", socketPort: 0 }));
		await nodeB.waitForServices(["auth", "groups", "messages", "presence"], 30_000);
		await nodeA.broker.waitForServices([{ name: "socket" }], 30_000);
		await waitFor(
			() => nodeA.broker.registry.getServiceList({ onlyAvailable: true }).filter(s => s.name === "socket").length === 2,
			"both socket nodes known",
			30_000
		);
		urlA = socketUrl(nodeA.broker);
		urlB = socketUrl(nodeB);
		[alice, bob, carol] = await Promise.all(["calice", "cbob", "ccarol"].map(n => registerUser(nodeA, n)));
		dmId = (await client(nodeA, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body.id;
	});
	after(async () => {
		closeAll(...open);
		if (nodeB?.started) await nodeB.stop();
		await nodeA?.stop();
	});

	test("node B listens on its own port", t => {
		if (skip) return t.skip(skip);
		assert.notEqual(urlA, urlB);
	});

	test("messages, receipts and typing reach sockets on the other node exactly once", TIMEOUT, async t => {
		if (skip) return t.skip(skip);
		const [a, bOnB, bOnA] = await Promise.all([connect(urlA, alice), connect(urlB, bob), connect(urlA, bob)]);
		const onB = collect(bOnB, "chat.message.incoming");
		const onA = collect(bOnA, "chat.message.incoming");
		const sent = [];
		for (let i = 0; i < 5; i++) {
			const ack = await emitWithAck(a, "chat.message.send", { groupId: dmId, content: `cross ${i}`, clientMessageId: `cross-${i}` });
			assert.equal(ack.ok, true, JSON.stringify(ack));
			sent.push(ack.message.id);
		}
		await waitFor(() => onB.length >= 5 && onA.length >= 5, "both of bob's sockets", 20_000);
		assert.deepEqual(
			onB.map(m => m.id),
			sent
		);
		assert.deepEqual(
			onA.map(m => m.id),
			sent
		);

		// From node B back to node A, with its receipts.
		const back = waitForEvent(a, "chat.message.incoming", m => m.clientMessageId === "from-b");
		const reply = await emitWithAck(bOnB, "chat.message.send", { groupId: dmId, content: "hi from B", clientMessageId: "from-b" });
		assert.equal(reply.ok, true, JSON.stringify(reply));
		await back;
		const seen = waitForEvent(bOnB, "chat.message.seen", e => e.userId === alice.user.id);
		assert.equal((await emitWithAck(a, "chat.message.seen", { groupId: dmId, seq: reply.message.seq })).ok, true);
		assert.equal((await seen).seq, reply.message.seq);

		const typing = waitForEvent(a, "typing", e => e.userId === bob.user.id && e.typing);
		await emitWithAck(bOnB, "typing.start", { groupId: dmId });
		await typing;

		const statsB = await asOperator(nodeA.broker).call<{ nodeID: string; connected: number }, object>("socket.stats", {}, { nodeID: nodeB.nodeID });
		assert.equal(statsB.nodeID, nodeB.nodeID);
		assert.equal(statsB.connected, 1);
		const sessions = await asOperator(nodeA.broker).mcall<Record<string, { socketId: string; nodeID: string }[]>>(
			[nodeA.broker.nodeID, nodeB.nodeID].map(nodeID => ({ action: "socket.sessions", params: { userId: bob.user.id }, options: { nodeID } }))
		);
		assert.deepEqual(
			Object.values(sessions)
				.flat()
				.map(s => s.nodeID)
				.sort(),
			[nodeA.broker.nodeID, nodeB.nodeID].sort()
		);
		closeAll(a, bOnB, bOnA);
	});

	test("a member added on node A starts receiving on node B at once; presence crosses nodes", TIMEOUT, async t => {
		if (skip) return t.skip(skip);
		const a = await connect(urlA, alice);
		const c = await connect(urlB, carol);
		const group = (await client(nodeA, alice.accessToken).post("/api/groups", { name: "Cross", memberIds: [bob.user.id] })).body;
		const added = waitForEvent(c, "group.member.added", e => e.groupId === group.id, 20_000);
		await client(nodeA, alice.accessToken).post(`/api/groups/${group.id}/members`, { userIds: [carol.user.id] });
		await added;
		const incoming = waitForEvent(c, "chat.message.incoming", m => m.groupId === group.id, 20_000);
		await emitWithAck(a, "chat.message.send", { groupId: group.id, content: "hello carol", clientMessageId: "cross-add" });
		await incoming;
		// Presence of a socket on node B, as node A's clients see it.
		const [p] = (await emitWithAck(a, "presence.query", { userIds: [carol.user.id] })).items;
		assert.equal(p.status, "online");
		const offline = waitForEvent(a, "user.presence", e => e.userId === carol.user.id && e.status === "offline", 20_000);
		c.close();
		await offline;
		closeAll(a);
	});

	test("stopping node B tells its clients to reconnect; its users go offline after the grace period", TIMEOUT, async t => {
		if (skip) return t.skip(skip);
		const a = await connect(urlA, alice);
		const b = await connect(urlB, bob);
		await waitFor(
			async () => {
				const [p] = (await emitWithAck(a, "presence.query", { userIds: [bob.user.id] })).items;
				return p.status === "online";
			},
			"bob online",
			20_000
		);
		const shutdown = waitForEvent(b, "server.shutdown", () => true, 20_000);
		const offline = waitForEvent(a, "user.presence", p => p.userId === bob.user.id && p.status === "offline", 20_000);
		await nodeB.stop();
		assert.deepEqual(await shutdown, { reconnect: true });
		await waitFor(() => b.disconnected, "bob's socket closed", 20_000);
		await offline;
		closeAll(a, b);
	});
});
