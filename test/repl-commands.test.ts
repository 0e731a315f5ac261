import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { ServiceSchema } from "moleculer";
import { ALL_SERVICES } from "../lib/config.ts";
import { SocketOpsActions } from "../mixins/ops.mixin.ts";
import { announce, formatAnnounced } from "../repl-commands/announce.ts";
import { conversationStats, formatConversationStats } from "../repl-commands/conversation.ts";
import { disconnectUser, formatKicked } from "../repl-commands/kick.ts";
import { formatOnlineUsers, onlineUsers } from "../repl-commands/online.ts";
import { formatUserSessions, userSessions } from "../repl-commands/sessions.ts";
import { replCommands } from "../repl-commands/index.ts";
import MessagesService from "../services/messages/messages.service.ts";
import { MessagesOpsActions } from "../services/messages/ops.ts";
import SocketService from "../services/socket/socket.service.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "./helpers/app.ts";
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
		const online = await onlineUsers(app.broker);
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
		const byName = await userSessions(app.broker, alice.user.username);
		assert.equal(byName.userId, alice.user.id);
		assert.equal(byName.sessions.length, 2);
		assert.deepEqual(byName.nodes, [app.broker.nodeID]);
		assert.match(formatUserSessions(byName), new RegExp(`: 2 session\\(s\\) on 1 node\\(s\\)`));
		const byId = await userSessions(app.broker, bob.user.id);
		assert.equal(byId.sessions.length, 1);
		await assert.rejects(userSessions(app.broker, "nobody_here"), /No user named/);
	});

	test("announce: to one conversation, then to everyone", async () => {
		const heard = sockets.map(s => waitForEvent<{ text: string; groupId: string | null }>(s, "system.announcement"));
		const toGroup = await announce(app.broker, "maintenance at noon", groupId);
		assert.deepEqual(toGroup, { delivered: 3, nodes: 1, unreachable: [] });
		for (const payload of await Promise.all(heard)) assert.deepEqual([payload.text, payload.groupId], ["maintenance at noon", groupId]);
		const everyone = await announce(app.broker, "hello all");
		assert.equal(everyone.delivered, 3);
		assert.equal(formatAnnounced(everyone), "Announcement delivered to 3 socket(s) on 1 node(s)");
	});

	test("conversation: members, last seq, messages today", async () => {
		const a = client(app, alice.accessToken);
		for (const content of ["one", "two", "three"]) assert.equal((await a.post("/api/messages", { groupId, content })).status, 201);
		const stats = await conversationStats(app.broker, groupId);
		assert.deepEqual(stats, { groupId, members: 2, lastSeq: 3, messagesToday: 3 });
		assert.equal(formatConversationStats(stats), `Conversation ${groupId}: 2 member(s), last seq 3, 3 message(s) today (UTC)`);
	});

	test("kick: disconnects every socket of the user", async () => {
		const bobGone = disconnected(sockets[2]);
		const kicked = await disconnectUser(app.broker, bob.user.username);
		assert.deepEqual(kicked, { userId: bob.user.id, disconnected: 1, nodes: [app.broker.nodeID], unreachable: [] });
		assert.equal(formatKicked(kicked), `Disconnected 1 socket(s) of ${bob.user.id} on ${app.broker.nodeID}`);
		await bobGone;
		const online = await onlineUsers(app.broker);
		assert.deepEqual(
			online.users.map(u => u.userId),
			[alice.user.id]
		);
	});
});
