import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ServiceSchema } from "moleculer";
import { ALL_SERVICES } from "../lib/config.ts";
import { SocketOpsActions } from "../mixins/ops.mixin.ts";
import { announce, formatAnnounced } from "../repl-commands/announce.ts";
import { conversationStats, formatConversationStats } from "../repl-commands/conversation.ts";
import { disconnectUser, formatKicked, KICK_REASON } from "../repl-commands/kick.ts";
import { formatOnlineUsers, onlineUsers } from "../repl-commands/online.ts";
import { formatUserSessions, userSessions } from "../repl-commands/sessions.ts";
import { replCommands } from "../repl-commands/index.ts";
import MessagesService from "../services/messages/messages.service.ts";
import { MessagesOpsActions } from "../services/messages/ops.ts";
import SocketService from "../services/socket/socket.service.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "./helpers/app.ts";
import { asOperator } from "./helpers/operator.ts";
import { closeAll, connectSocket, disconnected, socketUrl, waitForEvent, type ClientSocket } from "./helpers/socket.ts";

/** The service with the operator actions mixed in (a no-op once the service lists the mixin itself). */
function withOps(schema: ServiceSchema<any, any, any>, ops: Partial<ServiceSchema>): ServiceSchema {
	const mixins = (schema.mixins ?? []) as Partial<ServiceSchema>[];
	return mixins.includes(ops) ? schema : ({ ...schema, mixins: [...mixins, ops] } as ServiceSchema);
}

describe("REPL operator commands", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let groupId: string;
	const sockets: ClientSocket[] = [];

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
	});
	after(async () => {
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
		const everyone = await announce(asOperator(app.broker), "hello all");
		assert.equal(everyone.delivered, 3);
		assert.equal(formatAnnounced(everyone), "Announcement delivered to 3 socket(s) on 1 node(s)");
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

	test("unknown users and conversations: one line saying so, never a stack trace", async () => {
		const printed: string[] = [];
		const run = async (name: string, args: Record<string, unknown>) => {
			const command = replCommands.find(c => c.command.startsWith(`${name} `))!;
			const original = console.error;
			console.error = (line: string) => printed.push(line);
			try {
				await command.action(asOperator(app.broker), args);
			} finally {
				console.error = original;
			}
			return printed.pop();
		};
		assert.equal(await run("sessions", { user: "nobody_here" }), 'Error: No user named "nobody_here"');
		assert.equal(await run("kick", { user: "nobody_here" }), 'Error: No user named "nobody_here"');
		const unknownGroup = "0".repeat(24);
		await assert.rejects(conversationStats(asOperator(app.broker), unknownGroup), /No conversation/);
		assert.equal(await run("conversation", { groupId: unknownGroup }), `Error: No conversation ${unknownGroup}`);
		assert.match((await run("conversation", { groupId: "not-an-id" }))!, /^Error: The 'groupId' field must be a valid id\.$/);
		assert.equal(printed.length, 0);
	});
});
