import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo, Socket as NetSocket } from "node:net";
import { io as connect, type Socket as ClientSocket } from "socket.io-client";
import { createChatServer, type ChatServer, type ChatSocket } from "../../../services/socket/chat-socket.ts";
import type { ChatConfig } from "../../../lib/config.ts";

const config = { http: { corsOrigins: "*" } } as unknown as ChatConfig;

/** The raw TCP socket under a server-side socket.io connection. */
function rawSocketOf(socket: ChatSocket): NetSocket {
	return (socket.conn as unknown as { transport: { socket: { _socket: NetSocket } } }).transport.socket._socket;
}

describe("the gateway's frame writes", () => {
	let httpServer: HttpServer;
	let io: ChatServer;
	let client: ClientSocket;
	let serverSocket: ChatSocket;

	before(async () => {
		httpServer = createServer();
		io = createChatServer(httpServer, config);
		await new Promise<void>(resolve => httpServer.listen(0, "127.0.0.1", resolve));
		const connected = new Promise<ChatSocket>(resolve => io.on("connection", resolve));
		client = connect(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, { transports: ["websocket"], reconnection: false });
		serverSocket = await connected;
		await new Promise<void>(resolve => (client.connected ? resolve() : client.once("connect", () => resolve())));
	});

	after(async () => {
		client.disconnect();
		await io.close();
	});

	// engine.io holds what follows a frame until that frame's write completes: the first frame leaves at the end of
	// the turn, the other 19 together once it has.
	test("frames emitted to one connection in one event-loop turn leave in two writes, not one each, in order", async () => {
		const raw = rawSocketOf(serverSocket);
		const writes: number[] = [];
		const writev = raw._writev!.bind(raw);
		const write = raw._write.bind(raw);
		raw._writev = (chunks, callback) => (writes.push(chunks.length), writev(chunks, callback));
		raw._write = (chunk, encoding, callback) => (writes.push(1), write(chunk, encoding, callback));
		const received: number[] = [];
		const all = new Promise<void>(resolve =>
			client.on("system.announcement", (a: { text: string }) => {
				received.push(Number(a.text));
				if (received.length === 20) resolve();
			})
		);
		for (let i = 0; i < 20; i++) serverSocket.emit("system.announcement", { text: String(i), groupId: null, at: "" });
		await all;
		raw._writev = writev;
		raw._write = write;
		assert.deepEqual(received, [...Array(20).keys()]);
		assert.ok(writes.length <= 2, `at most two syscalls for 20 frames, got ${writes.length} (${writes.join(",")} chunks)`);
	});

	test("a lone frame is not held back waiting for more", async () => {
		for (let i = 0; i < 3; i++) {
			const got = new Promise(resolve => client.once("system.announcement", resolve));
			serverSocket.emit("system.announcement", { text: `alone ${i}`, groupId: null, at: "" });
			assert.deepEqual(await got, { text: `alone ${i}`, groupId: null, at: "" });
		}
	});

	test("a frame written just before the server closes the connection still arrives", async () => {
		const got = new Promise(resolve => client.once("session.revoked", resolve));
		const closed = new Promise(resolve => client.once("disconnect", resolve));
		serverSocket.emit("session.revoked", { reason: "bye" });
		serverSocket.disconnect(true);
		assert.deepEqual(await got, { reason: "bye" });
		await closed;
	});
});
