import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import { Server } from "socket.io";
import { createClient, type BenchClient, type SendAck } from "../../bench/generator/clients.ts";
import type { SocketIoClientKind, WireMessage } from "../../bench/generator/protocol.ts";

/**
 * The generator's two socket.io clients against a bare socket.io server: the raw one (socket.io's protocol over ws)
 * must behave as socket.io-client does for everything the benchmarks use.
 */
async function startServer(heartbeat: { pingInterval?: number; pingTimeout?: number } = {}) {
	const http = createServer();
	const io = new Server(http, { path: "/socket.io", transports: ["websocket"], serveClient: false, ...heartbeat });
	const seq = new Map<string, number>();
	/** clientMessageId → how many times it arrived */
	const arrivals = new Map<string, number>();
	io.use((socket, next) => (socket.handshake.auth.token === "refused" ? next(new Error("token refused")) : next()));
	io.on("connection", socket => {
		const { token, groups } = socket.handshake.auth as { token: string; groups: string[] };
		socket.join(groups);
		socket.emit("presence.online", { userId: token });
		socket.on("chat.message.send", (p: { groupId: string; content: string; clientMessageId: string }, ack: (r: unknown) => void) => {
			const times = (arrivals.get(p.clientMessageId) ?? 0) + 1;
			arrivals.set(p.clientMessageId, times);
			// The first copy of a held message is never answered, as if the connection died before the ack.
			if (p.content === "held" && times === 1) return;
			const message = { groupId: p.groupId, seq: (seq.get(p.groupId) ?? 0) + 1, senderId: token, content: p.content };
			seq.set(p.groupId, message.seq);
			io.to(p.groupId).emit("chat.message.incoming", message);
			ack({ ok: true, message });
		});
		socket.on("chat.sync", (p: { cursors: Record<string, number> }, ack: (r: unknown) => void) =>
			ack({ ok: true, items: Object.keys(p.cursors).map(groupId => ({ groupId, messages: [], hasMore: false, lastSeq: seq.get(groupId) ?? 0 })) })
		);
	});
	await new Promise<void>(resolve => http.listen(0, "127.0.0.1", resolve));
	const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
	return { io, url, arrivals, stop: () => new Promise<void>(resolve => io.close(() => resolve())) };
}

function client(kind: SocketIoClientKind, url: string, userId: string): BenchClient {
	return createClient("ours", { userId, url, auth: { token: userId, groups: ["g1"] }, groups: ["g1"], localAddress: "127.0.0.1" }, kind);
}

const send = (c: BenchClient, content: string, clientMessageId: string) =>
	new Promise<SendAck>(resolve => c.send({ groupId: "g1", content, clientMessageId }, resolve));

const until = async (what: string, ok: () => boolean) => {
	for (let i = 0; i < 200 && !ok(); i++) await new Promise(r => setTimeout(r, 25));
	assert.ok(ok(), what);
};

for (const kind of ["raw", "socketio"] as const) {
	describe(`generator client ${kind}`, () => {
		test("sends with an ack, receives the room's messages, syncs", async () => {
			const server = await startServer();
			const alice = client(kind, server.url, "alice");
			const bob = client(kind, server.url, "bob");
			try {
				await alice.connect(5000);
				await bob.connect(5000);
				const received: WireMessage[] = [];
				bob.onIncoming(m => received.push(m));
				const ack = await send(alice, "hello", "m1");
				assert.equal(ack.ok, true);
				assert.deepEqual(ack.message, { groupId: "g1", seq: 1, senderId: "alice", content: "hello" });
				await until("bob receives alice's message", () => received.length === 1);
				assert.deepEqual(received[0], ack.message);
				assert.deepEqual(await bob.sync({ g1: 0 }), [{ groupId: "g1", messages: [], hasMore: false, lastSeq: 1 }]);
			} finally {
				alice.close();
				bob.close();
				await server.stop();
			}
		});

		test("answers the server's pings: still connected after many ping intervals", async () => {
			const server = await startServer({ pingInterval: 50, pingTimeout: 100 });
			const alice = client(kind, server.url, "alice");
			try {
				await alice.connect(5000);
				let disconnects = 0;
				server.io.on("connection", socket => socket.on("disconnect", () => disconnects++));
				for (const socket of server.io.of("/").sockets.values()) socket.on("disconnect", () => disconnects++);
				await new Promise(r => setTimeout(r, 600));
				assert.equal(disconnects, 0);
				assert.equal((await send(alice, "still here", "m1")).ok, true);
			} finally {
				alice.close();
				await server.stop();
			}
		});

		test("a refused handshake rejects connect", async () => {
			const server = await startServer();
			const refused = client(kind, server.url, "refused");
			try {
				await assert.rejects(refused.connect(5000), /token refused/);
			} finally {
				refused.close();
				await server.stop();
			}
		});

		test("after a drop it reconnects, resends unacknowledged sends with their clientMessageId and can sync", async () => {
			const server = await startServer();
			const alice = client(kind, server.url, "alice");
			try {
				await alice.connect(5000);
				let reconnects = 0;
				alice.onReconnect(() => reconnects++);
				const held = send(alice, "held", "m-held");
				await until("the held send reached the server", () => server.arrivals.get("m-held") === 1);
				alice.drop();
				await until("the server saw the connection go", () => server.io.of("/").sockets.size === 0);
				const whileDown = send(alice, "while down", "m-down");
				const ack = await held;
				assert.equal(ack.ok, true);
				assert.equal(server.arrivals.get("m-held"), 2, "resent once, same clientMessageId");
				assert.equal((await whileDown).ok, true);
				assert.equal(server.arrivals.get("m-down"), 1, "a send made while disconnected goes once");
				assert.equal(reconnects, 1);
				assert.deepEqual(await alice.sync({ g1: 0 }), [{ groupId: "g1", messages: [], hasMore: false, lastSeq: 2 }]);
			} finally {
				alice.close();
				await server.stop();
			}
		});
	});
}
