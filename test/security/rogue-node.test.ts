import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ServiceBroker, type Middleware } from "moleculer";
import { createReplBroker } from "../../app/repl.ts";
import { startNode } from "../../app/node.ts";
import { callerSigner, CallerSigner } from "../../lib/cluster-trust.ts";
import { testConfig, type ChatConfig } from "../../lib/config.ts";
import { droppedPackets } from "../../middlewares/sealed-transport.middleware.ts";
import { announce } from "../../repl-commands/announce.ts";
import { onlineUsers } from "../../repl-commands/online.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { RABBITMQ, reachable, waitUntil } from "../helpers/cluster.ts";
import { closeAll, collect, connectSocket, socketUrl, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

/**
 * The transporter is a trust boundary: a process that reaches RabbitMQ (same namespace, same serializer)
 * but lacks CLUSTER_SECRET must not be able to read, call, post, broadcast or act as an operator; a node
 * with the secret still cannot call as a user it did not sign, nor as an operator without a pass.
 */

const AMQP = process.env.AMQP_URL || `amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`;
const rabbitMissing = !(await reachable(RABBITMQ));
if (rabbitMissing && process.env.CI === "true") throw new Error(`the rogue-node tests need RabbitMQ on ${RABBITMQ.host}:${RABBITMQ.port}`);

type Packet = { type: string; target: string | null; payload: Record<string, unknown> };
type Rogue = { name: string; broker: ServiceBroker; heard: () => number };

/** What a rogue process can do with Moleculer's own transit: publish any packet to any node's queue. */
function publish(broker: ServiceBroker, packet: Packet): Promise<void> {
	return (broker.transit as unknown as { publish(p: Packet): Promise<void> }).publish(packet);
}

/** A request straight to a node (no discovery needed): resolves with the answer, if one ever comes back. */
function requestAt(broker: ServiceBroker, nodeID: string, action: string, params: object, meta: object): { answer: Promise<unknown>; cancel(): void } {
	const ctx = broker.ContextFactory.create(broker, null as never, params, { meta, timeout: 10_000 }) as unknown as Record<string, unknown>;
	ctx.action = { name: action };
	ctx.nodeID = nodeID;
	const transit = broker.transit as unknown as { request(c: unknown): Promise<unknown>; removePendingRequest(id: string): void };
	return { answer: transit.request(ctx), cancel: () => transit.removePendingRequest(ctx.id as string) };
}

describe("a rogue node on the transporter", { skip: rabbitMissing ? "RabbitMQ is not running" : false, timeout: 180_000 }, () => {
	const suffix = `${process.pid}-${randomBytes(3).toString("hex")}`;
	const namespace = `rogue-${suffix}`;
	const secret = randomBytes(32).toString("hex");
	const cluster: Partial<ChatConfig> = { transporter: AMQP, namespace, clusterSecret: secret };
	let app: TestApp;
	let insider: ServiceBroker;
	let operator: ServiceBroker;
	let rogues: Rogue[];
	let alice: TestUser, bob: TestUser;
	let dmId: string;
	let bobSocket: ClientSocket;
	const started: ServiceBroker[] = [];

	const dropsAt = (type: string) => droppedPackets(app.broker)[type] ?? 0;

	before(async () => {
		app = await startTestApp({ ...cluster, nodeID: `chat-${suffix}` });
		insider = await startNode(testConfig({ ...cluster, nodeID: `insider-${suffix}`, services: [] }));
		started.push(insider);
		operator = createReplBroker(testConfig(cluster), `repl-${suffix}`);
		await operator.start();
		started.push(operator);

		// Without the secret: Moleculer as anyone would run it, counting what it receives.
		let plainHeard = 0;
		const counting = {
			name: "Counting",
			transporterReceive:
				(next: (...a: unknown[]) => unknown) =>
				(...a: unknown[]) => (plainHeard++, next(...a))
		};
		const plain = new ServiceBroker({
			namespace,
			nodeID: `rogue-plain-${suffix}`,
			transporter: { type: "AMQP", options: { url: AMQP } },
			serializer: "CBOR",
			logger: false,
			middlewares: [counting as unknown as Middleware]
		});
		// With a wrong secret: the real REPL node, so its packets are sealed and its operator passes signed, with the wrong key.
		const wrong = createReplBroker(testConfig({ ...cluster, clusterSecret: randomBytes(32).toString("hex") }), `rogue-wrong-${suffix}`);
		await Promise.all([plain.start(), wrong.start()]);
		started.push(plain, wrong);
		rogues = [
			{ name: "without the secret", broker: plain, heard: () => plainHeard },
			{ name: "with a wrong secret", broker: wrong, heard: () => Object.values(droppedPackets(wrong)).reduce((a, b) => a + b, 0) }
		];

		await Promise.all([insider.waitForServices(["messages", "socket"], 30_000), operator.waitForServices(["socket"], 30_000)]);
		[alice, bob] = await Promise.all([registerUser(app, "ralice"), registerUser(app, "rbob")]);
		dmId = (await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body.id;
		bobSocket = await connectSocket(socketUrl(app.broker), bob.accessToken);
	});

	after(async () => {
		closeAll(bobSocket);
		for (const broker of started.reverse()) await broker.stop().catch(() => undefined);
		await app?.stop();
	});

	const history = async () => (await client(app, alice.accessToken).get(`/api/messages/${dmId}`)).body.items as { content: string }[];

	test("discovers nothing, and the cluster does not list it", async () => {
		for (const rogue of rogues) {
			// It hears the cluster's packets (heartbeats, INFO) and the cluster hears its own: neither side can open the other's.
			await waitUntil(`the rogue ${rogue.name} to receive packets`, () => rogue.heard() > 0);
			await waitUntil("the chat node to drop the rogues' discovery packets", () => dropsAt("HEARTBEAT") + dropsAt("INFO") + dropsAt("DISCOVER") > 0);
			const nodes = rogue.broker.registry.getNodeList({ onlyAvailable: true, withServices: false }) as { id: string }[];
			assert.deepEqual(
				nodes.map(n => n.id),
				[rogue.broker.nodeID],
				rogue.name
			);
			await assert.rejects(rogue.broker.call("messages.history", { groupId: dmId }), { name: "ServiceNotFoundError" });
		}
		const known = () => (app.broker.registry.getNodeList({ onlyAvailable: false, withServices: false }) as { id: string }[]).map(n => n.id);
		await waitUntil("the chat node to know the nodes with the secret", () => known().includes(insider.nodeID) && known().includes(operator.nodeID));
		for (const rogue of rogues) assert.ok(!known().includes(rogue.broker.nodeID), `${rogue.name} is listed by the chat node`);
	});

	test("its requests as a real user (messages.send, messages.history) and socket.announce are dropped unread", async () => {
		for (const rogue of rogues) {
			const asAlice = { user: { id: alice.user.id, username: alice.user.username, exp: Date.now() / 1000 + 600, sig: "x" } };
			const before = dropsAt("REQ");
			const attempts = [
				requestAt(rogue.broker, app.broker.nodeID, "messages.send", { groupId: dmId, content: `posted by the rogue ${rogue.name}` }, asAlice),
				requestAt(rogue.broker, app.broker.nodeID, "messages.history", { groupId: dmId }, asAlice),
				requestAt(rogue.broker, app.broker.nodeID, "socket.announce", { text: `rogue announcement ${rogue.name}` }, {})
			];
			const outcome = await Promise.race([
				Promise.any(attempts.map(a => a.answer)).then(answer => `answered: ${JSON.stringify(answer)}`),
				waitUntil("the chat node to drop the rogue's requests", () => dropsAt("REQ") >= before + attempts.length).then(() => "dropped")
			]);
			for (const a of attempts) a.cancel();
			assert.equal(outcome, "dropped", rogue.name);
		}
		const contents = (await history()).map(m => m.content);
		assert.ok(!contents.some(c => c.startsWith("posted by the rogue")), JSON.stringify(contents));
	});

	test("a forged message.created or socket.announce broadcast reaches no socket client", async () => {
		const incoming = collect<{ content: string }>(bobSocket, "chat.message.incoming");
		const announcements = collect<{ text: string }>(bobSocket, "system.announcement");
		for (const rogue of rogues) {
			const before = dropsAt("EVENT");
			const event = (name: string, data: object): Packet => ({
				type: "EVENT",
				target: app.broker.nodeID,
				payload: { id: randomBytes(8).toString("hex"), event: name, data, groups: ["socket"], broadcast: true, meta: {}, level: 1, needAck: false }
			});
			const forged = {
				id: "f".repeat(24),
				groupId: dmId,
				seq: 999,
				senderId: alice.user.id,
				content: `forged by the rogue ${rogue.name}`,
				createdAt: new Date().toISOString()
			};
			await publish(rogue.broker, event("message.created", { groupId: dmId, message: forged }));
			await publish(rogue.broker, event("socket.announce", { text: `rogue announcement ${rogue.name}` }));
			await waitUntil("the chat node to drop the forged events", () => dropsAt("EVENT") >= before + 2);
		}
		// What the node does deliver comes after anything it had accepted before, on the same socket.
		const real = waitForEvent(bobSocket, "chat.message.incoming", m => m.content === "real message");
		assert.equal((await client(app, alice.accessToken).post("/api/messages", { groupId: dmId, content: "real message" })).status, 201);
		await real;
		const announced = waitForEvent(bobSocket, "system.announcement", a => a.text === "real announcement");
		await announce(operator, "real announcement");
		await announced;
		assert.deepEqual(
			incoming.map(m => m.content),
			["real message"]
		);
		assert.deepEqual(
			announcements.map(a => a.text),
			["real announcement"]
		);
	});

	test("a node with the secret: only callers signed by a gateway, unexpired, get through (401 otherwise)", async () => {
		const signer = callerSigner(insider);
		const now = Date.now() / 1000;
		const call = (meta: object) => insider.call("messages.history", { groupId: dmId }, { meta });
		const refused = (type: string) => ({ code: 401, type });
		await assert.rejects(call({ user: { id: alice.user.id, username: alice.user.username } }), refused("UNAUTHORIZED"));
		await assert.rejects(call({ user: new CallerSigner("another cluster's secret", namespace).signUser(alice.user, now + 60) }), refused("UNAUTHORIZED"));
		await assert.rejects(call({ user: { ...signer.signUser(bob.user, now + 60), id: alice.user.id } }), refused("UNAUTHORIZED"));
		await assert.rejects(call({ user: signer.signUser(alice.user, now - 60) }), refused("TOKEN_EXPIRED"));
		await assert.rejects(
			insider.call("messages.send", { groupId: dmId, content: "unsigned send" }, { meta: { user: { id: alice.user.id, username: alice.user.username } } }),
			refused("UNAUTHORIZED")
		);
		const { items } = (await call({ user: signer.signUser(alice.user, now + 60) })) as { items: { content: string }[] };
		assert.ok(items.some(m => m.content === "real message"));
		assert.ok(!(await history()).some(m => m.content === "unsigned send"));
	});

	test("operator actions and events need the REPL's signed pass", async () => {
		const refused = { code: 401, type: "OPERATOR_REQUIRED" };
		const forgedPass = { operator: new CallerSigner("another cluster's secret", namespace).signOperator(insider.nodeID) };
		const expiredPass = { operator: callerSigner(insider).signOperator(insider.nodeID, Date.now() / 1000 - 120) };
		for (const meta of [{}, forgedPass, expiredPass]) {
			await assert.rejects(insider.call("socket.announce", { text: "insider announcement" }, { meta }), refused);
			await assert.rejects(insider.call("socket.onlineUsers", {}, { meta }), refused);
			await assert.rejects(insider.call("socket.disconnectUser", { userId: bob.user.id }, { meta }), refused);
			await assert.rejects(insider.call("messages.conversationStats", { groupId: dmId }, { meta }), refused);
		}
		const announcements = collect<{ text: string }>(bobSocket, "system.announcement");
		await insider.broadcast("socket.announce", { text: "insider event" });
		await insider.broadcast("socket.announce", { text: "insider event" }, { meta: forgedPass });

		// The REPL node with the secret acts; one with a wrong secret sees no socket node to act on.
		const online = await onlineUsers(operator);
		assert.ok(online.users.some(u => u.userId === bob.user.id));
		const delivered = waitForEvent(bobSocket, "system.announcement", a => a.text === "from the operator");
		assert.deepEqual((await announce(operator, "from the operator")).unreachable, []);
		await delivered;
		assert.deepEqual(await announce(rogues[1].broker, "from the wrong REPL"), { delivered: 0, nodes: 0, unreachable: [] });
		const viaEvent = waitForEvent(bobSocket, "system.announcement", a => a.text === "operator event");
		await operator.broadcast("socket.announce", { text: "operator event" });
		await viaEvent;
		assert.deepEqual(
			announcements.map(a => a.text),
			["from the operator", "operator event"]
		);
		assert.ok(bobSocket.connected);
	});
});
