import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Server } from "socket.io";
import type { ChatServer, SocketStats } from "../../../services/socket/chat-socket.ts";
import { FanOut, systemLineAudience } from "../../../services/socket/fan-out.ts";

describe("FanOut", () => {
	// Not attached to an HTTP server: only its rooms are used; the sockets exist in the adapter alone.
	const io = new Server() as ChatServer;
	const stats: SocketStats = { connected: 0, connectionsTotal: 0, messagesDelivered: 0, eventsDelivered: 0 };
	const fanOut = new FanOut(io, stats);
	const emitted: { rooms: unknown; event: string; payload: unknown }[] = [];
	io.to = ((rooms: string | string[]) => ({
		emit: (event: string, payload: unknown) => (emitted.push({ rooms, event, payload }), true)
	})) as unknown as typeof io.to;
	io.sockets.adapter.addAll("s1", new Set(["s1", "g1", "user:u1"]));
	io.sockets.adapter.addAll("s2", new Set(["s2", "g1", "user:u2"]));
	io.sockets.adapter.addAll("s3", new Set(["s3", "user:u1"]));

	const event = { groupId: "g1", userId: "u1", typing: true };

	test("a socket in two of the rooms counts once", () => {
		assert.equal(fanOut.emitTo(["g1", "user:u1"], "typing", event), 3);
		assert.equal(fanOut.emitTo(["g1", "user:u2"], "typing", event), 2);
		assert.equal(fanOut.emitTo("g1", "typing", event), 2);
		assert.deepEqual(emitted.at(0), { rooms: ["g1", "user:u1"], event: "typing", payload: event });
		assert.equal(stats.eventsDelivered, 7);
	});

	test("rooms nobody here is in: nothing is emitted or counted", () => {
		const before = { emits: emitted.length, delivered: stats.eventsDelivered };
		assert.equal(fanOut.emitTo(["g-elsewhere", "user:u9"], "typing", event), 0);
		assert.equal(fanOut.emitTo("g-elsewhere", "typing", event), 0);
		assert.deepEqual({ emits: emitted.length, delivered: stats.eventsDelivered }, before);
	});
});

describe("systemLineAudience", () => {
	test("a line reaches the members after the change: added users too, the removed or leaving one not", () => {
		assert.deepEqual(systemLineAudience({ type: "members.added", userIds: ["u2", "u3"] }, "u1"), { also: ["u2", "u3"], except: [] });
		assert.deepEqual(systemLineAudience({ type: "member.removed", userId: "u2" }, "u1"), { also: [], except: ["u2"] });
		assert.deepEqual(systemLineAudience({ type: "member.left" }, "u1"), { also: [], except: ["u1"] });
		assert.deepEqual(systemLineAudience({ type: "group.renamed", name: "b", previousName: "a" }, "u1"), { also: [], except: [] });
		assert.deepEqual(systemLineAudience(null, "u1"), { also: [], except: [] }, "a message goes to the room as it is");
	});
});
