import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import nodeRepl from "node:repl";
import { PassThrough } from "node:stream";
import { after, before, describe, mock, test } from "node:test";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import REPL from "moleculer-repl";
import { ALL_SERVICES } from "../lib/config.ts";
import { SocketOpsActions } from "../mixins/ops.mixin.ts";
import { announce, formatAnnounced, keepingAnnouncementsWhole, quotingAnnouncement } from "../repl-commands/announce.ts";
import { conversationStats, formatConversationStats } from "../repl-commands/conversation.ts";
import { disconnectUser, formatKicked, KICK_REASON } from "../repl-commands/kick.ts";
import { formatOnlineUsers, onlineUsers } from "../repl-commands/online.ts";
import { formatUserSessions, userSessions } from "../repl-commands/sessions.ts";
import { replCommands } from "../repl-commands/index.ts";
import MessagesService from "../services/messages/messages.service.ts";
import { MessagesOpsActions } from "../services/messages/ops.ts";
import SocketService from "../services/socket/socket.service.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "./helpers/app.ts";
import { RABBITMQ, reachable, ROOT } from "./helpers/cluster.ts";
import { asOperator } from "./helpers/operator.ts";
import { closeAll, connectSocket, disconnected, socketUrl, waitForEvent, type ClientSocket } from "./helpers/socket.ts";

const noRabbit = !(await reachable(RABBITMQ));
if (noRabbit && process.env.CI === "true") throw new Error("the REPL exit test needs RabbitMQ on 127.0.0.1:5672");

/** The service with the operator actions mixed in (a no-op once the service lists the mixin itself). */
function withOps(schema: ServiceSchema<any, any, any>, ops: Partial<ServiceSchema>): ServiceSchema {
	const mixins = (schema.mixins ?? []) as Partial<ServiceSchema>[];
	return mixins.includes(ops) ? schema : ({ ...schema, mixins: [...mixins, ops] } as ServiceSchema);
}

/**
 * moleculer-repl as `npm run repl` runs it (string-argv, commander, its argument hooks, our commands), on the
 * test's streams instead of the terminal; `type` evaluates one line as if typed and waits for the command.
 */
function startRepl(broker: ServiceBroker) {
	const start = nodeRepl.start;
	const onStreams = mock.method(nodeRepl, "start", (options: nodeRepl.ReplOptions) => {
		const server = start({ ...options, input: new PassThrough(), output: new PassThrough(), terminal: false });
		// No history file in the home directory from a test.
		server.setupHistory = (_path, ready) => ready(null, server);
		return server;
	});
	const server = keepingAnnouncementsWhole(REPL(broker, { delimiter: "chat $", customCommands: replCommands as never }));
	onStreams.mock.restore();
	return {
		type: (line: string) => new Promise<void>(resolve => server.eval(line, server.context, "repl", () => resolve())),
		close() {
			// moleculer-repl's own exit listener stops the broker and exits the process.
			server.removeAllListeners("exit");
			server.close();
		}
	};
}

describe("REPL operator commands", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let groupId: string;
	const sockets: ClientSocket[] = [];
	let repl: ReturnType<typeof startRepl>;

	before(async () => {
		app = await startTestApp({ services: ALL_SERVICES.filter(s => s !== "messages" && s !== "socket" && s !== "kafka-bridge") });
		app.broker.createService(withOps(MessagesService, MessagesOpsActions));
		app.broker.createService(withOps(SocketService, SocketOpsActions));
		await app.broker.waitForServices(["messages", "socket"], 10_000);
		[alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
		const res = await client(app, alice.accessToken).post("/api/groups", { name: "Ops", memberIds: [bob.user.id] });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		groupId = res.body.id;
		const url = socketUrl(app.broker);
		sockets.push(await connectSocket(url, alice.accessToken), await connectSocket(url, alice.accessToken), await connectSocket(url, bob.accessToken));
		// One REPL for the file: moleculer-repl registers its commands on one program per process.
		repl = startRepl(asOperator(app.broker));
	});
	after(async () => {
		repl?.close();
		closeAll(...sockets);
		await app?.stop();
	});

	test("every command is registered once, with a description", () => {
		const names = replCommands.map(c => c.command.split(" ")[0]);
		assert.deepEqual(names, ["online", "sessions", "kick", "announce", "conversation"]);
		for (const c of replCommands) assert.ok(c.description.length > 10, c.command);
	});

	test("online: count and list with the nodes", async () => {
		const online = await onlineUsers(asOperator(app.broker));
		assert.equal(online.count, 2);
		const a = online.users.find(u => u.userId === alice.user.id);
		assert.deepEqual(a && { sockets: a.sockets, nodes: a.nodes, username: a.username }, {
			sockets: 2,
			nodes: [app.broker.nodeID],
			username: alice.user.username
		});
		const text = formatOnlineUsers(online);
		assert.match(text, /^2 user\(s\) online/);
		assert.ok(text.includes(`${bob.user.username} (${bob.user.id})  1 socket(s) on ${app.broker.nodeID}`), text);
	});

	test("sessions: by username and by id", async () => {
		const byName = await userSessions(asOperator(app.broker), alice.user.username);
		assert.equal(byName.userId, alice.user.id);
		assert.equal(byName.sessions.length, 2);
		assert.deepEqual(byName.nodes, [app.broker.nodeID]);
		assert.match(formatUserSessions(byName), new RegExp(`: 2 session\\(s\\) on 1 node\\(s\\)`));
		const byId = await userSessions(asOperator(app.broker), bob.user.id);
		assert.equal(byId.sessions.length, 1);
		await assert.rejects(userSessions(asOperator(app.broker), "nobody_here"), /No user named/);
	});

	test("announce: to one conversation, then to everyone", async () => {
		const heard = sockets.map(s => waitForEvent<{ text: string; groupId: string | null }>(s, "system.announcement"));
		const toGroup = await announce(asOperator(app.broker), "maintenance at noon", groupId);
		assert.deepEqual(toGroup, { delivered: 3, nodes: 1, unreachable: [] });
		for (const payload of await Promise.all(heard)) assert.deepEqual([payload.text, payload.groupId], ["maintenance at noon", groupId]);
		const heardByAll = sockets.map(s => waitForEvent<{ groupId: string | null }>(s, "system.announcement"));
		const everyone = await announce(asOperator(app.broker), "hello all");
		assert.equal(everyone.delivered, 3);
		for (const payload of await Promise.all(heardByAll)) assert.equal(payload.groupId, null);
		assert.equal(formatAnnounced(everyone), "Announcement delivered to 3 socket(s) on 1 node(s)");
	});

	test("announce as typed in the REPL: the whole text, to everyone or with --group, quoted or not", async t => {
		const printed = t.mock.method(console, "log", () => undefined);
		const failed = t.mock.method(console, "error", () => undefined);
		const typed = async (line: string) => {
			const heard = sockets.map(s => waitForEvent<{ text: string; groupId: string | null }>(s, "system.announcement"));
			await repl.type(line);
			return (await Promise.all(heard)).map(p => [p.text, p.groupId]);
		};
		assert.deepEqual(await typed("announce Hello everyone"), Array(3).fill(["Hello everyone", null]));
		assert.deepEqual(await typed(`announce Group only --group ${groupId}`), Array(3).fill(["Group only", groupId]));
		assert.deepEqual(await typed(`announce -g ${groupId} "Back   at noon, don't log out"`), Array(3).fill(["Back   at noon, don't log out", groupId]));
		// The option of one line does not stay for the next.
		assert.deepEqual(await typed("announce Everyone again"), Array(3).fill(["Everyone again", null]));
		// An apostrophe needs no quotes (string-argv would open a quote at it).
		assert.deepEqual(await typed("announce We're back, it's fixed"), Array(3).fill(["We're back, it's fixed", null]));
		assert.deepEqual(await typed(`announce Alice's team --group ${groupId}`), Array(3).fill(["Alice's team", groupId]));
		assert.deepEqual(failed.mock.calls, []);
		assert.deepEqual(
			printed.mock.calls.map(c => c.arguments[0]),
			Array(6).fill("Announcement delivered to 3 socket(s) on 1 node(s)")
		);
	});

	test("announce lines are quoted as a whole only where an apostrophe would break them", () => {
		assert.equal(quotingAnnouncement("announce We're   back"), 'announce "We\'re   back"');
		assert.equal(quotingAnnouncement("announce -g abc it's on"), 'announce "it\'s on" -g abc');
		assert.equal(quotingAnnouncement("announce --group=abc it's on"), 'announce "it\'s on" --group=abc');
		for (const untouched of ["announce plain words", `announce "don't" quoted`, "announce 'all quoted'", "kick bob's", "announce"])
			assert.equal(quotingAnnouncement(untouched), untouched);
	});

	test("conversation: members, last seq, messages today", async () => {
		const a = client(app, alice.accessToken);
		for (const content of ["one", "two", "three"]) assert.equal((await a.post("/api/messages", { groupId, content })).status, 201);
		const stats = await conversationStats(asOperator(app.broker), groupId);
		assert.deepEqual(stats, { groupId, members: 2, lastSeq: 3, messagesToday: 3 });
		assert.equal(formatConversationStats(stats), `Conversation ${groupId}: 2 member(s), last seq 3, 3 message(s) today (UTC)`);
	});

	test("kick: revokes the user's sessions, tells their sockets why, and disconnects them", async () => {
		const revoked = waitForEvent<{ reason: string }>(sockets[2], "session.revoked");
		const bobGone = disconnected(sockets[2]);
		const kicked = await disconnectUser(asOperator(app.broker), bob.user.username);
		assert.deepEqual(kicked, { userId: bob.user.id, sessions: 1, disconnected: 1, nodes: [app.broker.nodeID], unreachable: [] });
		assert.equal(formatKicked(kicked), `Signed out ${bob.user.id}: 1 session(s) revoked, 1 socket(s) disconnected on ${app.broker.nodeID}`);
		assert.deepEqual(await revoked, { reason: KICK_REASON });
		await bobGone;
		const refresh = await client(app).post("/api/auth/refresh", { refreshToken: bob.refreshToken });
		assert.equal(refresh.status, 401, "the kicked user's refresh token no longer works");
		// Nor the access token the page still holds: a client that ignores session.revoked cannot come back.
		const profile = await client(app, bob.accessToken).get("/api/users/profile");
		assert.equal(profile.status, 401);
		assert.equal(profile.body.type, "SESSION_REVOKED");
		const handshake = await connectSocket(socketUrl(app.broker), bob.accessToken).then(
			s => (s.disconnect(), "connected"),
			(err: Error) => err.message
		);
		assert.equal(handshake, "unauthorized");
		// Signing in again works at once.
		const login = await client(app).post("/api/auth/login", { username: bob.user.username, password: "correct horse battery" });
		assert.equal(login.status, 200);
		assert.equal((await client(app, login.body.accessToken).get("/api/users/profile")).status, 200);
		const online = await onlineUsers(asOperator(app.broker));
		assert.deepEqual(
			online.users.map(u => u.userId),
			[alice.user.id]
		);
	});

	test("unknown users and conversations: one line saying so, never a stack trace", async t => {
		const printed = t.mock.method(console, "log", () => undefined);
		const failed = t.mock.method(console, "error", () => undefined);
		const typed = async (line: string) => {
			const before = failed.mock.callCount();
			await repl.type(line);
			assert.equal(failed.mock.callCount(), before + 1, line);
			return failed.mock.calls.at(-1)!.arguments[0];
		};
		assert.equal(await typed("sessions nobody_here"), 'Error: No user named "nobody_here"');
		assert.equal(await typed("kick nobody_here"), 'Error: No user named "nobody_here"');
		const unknownGroup = "0".repeat(24);
		await assert.rejects(conversationStats(asOperator(app.broker), unknownGroup), /No conversation/);
		assert.equal(await typed(`conversation ${unknownGroup}`), `Error: No conversation ${unknownGroup}`);
		assert.match(await typed("conv not-an-id"), /^Error: The 'groupId' field must be a valid id\.$/);
		assert.equal(printed.mock.callCount(), 0);
	});
});

/** `npm run repl` against RabbitMQ, fed `input` once it prompts, then its stdin ends: what it printed, and its exit code. */
async function replSession(input: string): Promise<{ code: number | null; printed: string }> {
	const home = mkdtempSync(path.join(tmpdir(), "chat-repl-"));
	const namespace = `repl-${randomBytes(4).toString("hex")}`;
	const child = spawn(path.join(ROOT, "node_modules/.bin/node"), ["--disable-warning=DEP0174", "app/repl.ts"], {
		cwd: ROOT,
		// HOME: moleculer-repl keeps its history file there.
		env: {
			PATH: process.env.PATH ?? "",
			HOME: home,
			NODE_ENV: "test",
			NAMESPACE: namespace,
			TRANSPORTER: `amqp://guest:guest@${RABBITMQ.host}:${RABBITMQ.port}`,
			CLUSTER_SECRET: randomBytes(32).toString("hex")
		},
		stdio: ["pipe", "pipe", "pipe"]
	});
	let printed = "";
	const exited = new Promise<number | null>(resolve => child.once("exit", resolve));
	const prompted = new Promise<void>(resolve => {
		const onOutput = (chunk: Buffer) => {
			printed += chunk;
			if (printed.includes(`chat[${namespace}] $`)) resolve();
		};
		child.stdout.on("data", onOutput);
		child.stderr.on("data", onOutput);
	});
	try {
		await Promise.race([prompted, exited]);
		child.stdin.end(input);
		return { code: await exited, printed };
	} finally {
		child.kill("SIGKILL");
		rmSync(home, { recursive: true, force: true });
	}
}

describe("npm run repl", { skip: noRabbit && "RabbitMQ on 127.0.0.1:5672", timeout: 60_000 }, () => {
	for (const command of ["exit", "q"]) {
		test(`\`${command}\` then the end of the input: the node leaves the cluster without a transporter error`, async () => {
			const { code, printed } = await replSession(`${command}\n`);
			assert.equal(code, 0, printed);
			assert.doesNotMatch(printed, /WARN|ERROR|Channel ended/, printed);
		});
	}
});
