import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Logger, ServiceBroker } from "moleculer";
import type { ChatServer, ChatSocket } from "../../../services/socket/chat-socket.ts";
import { Rooms, userRoom } from "../../../services/socket/rooms.ts";

/** One user's socket on a node, socket.io's room calls only; `groups.idsForUser` answers when the test says. */
function node(userId: string, joined: string[]) {
	const socket = { id: "s1", rooms: new Set(["s1", userRoom(userId), ...joined]), disconnected: false, data: { user: { id: userId } } };
	const join = (ids: string | string[]) => [ids].flat().forEach(id => socket.rooms.add(id));
	Object.assign(socket, { join, leave: (id: string) => socket.rooms.delete(id) });
	const io = {
		in: (targets: string | string[]) => {
			const reached = [targets].flat().some(t => socket.rooms.has(t));
			return { socketsJoin: (id: string) => reached && socket.rooms.add(id), socketsLeave: (id: string) => reached && socket.rooms.delete(id) };
		}
	};
	const fetches: ((groupIds: string[]) => void)[] = [];
	const broker = { call: () => new Promise<string[]>(resolve => fetches.push(resolve)) };
	const logger = { warn: () => undefined } as unknown as Logger;
	const rooms = new Rooms(io as unknown as ChatServer, broker as unknown as ServiceBroker, logger);
	return {
		rooms,
		socket: socket as unknown as ChatSocket,
		fetches,
		conversations: () => [...socket.rooms].filter(r => r !== "s1" && r !== userRoom(userId)).sort()
	};
}

const tick = () => new Promise(resolve => setImmediate(resolve));

describe("a socket's room refresh", () => {
	test("with no change meanwhile, one fetch sets the rooms: those not listed are left, the listed joined", async () => {
		const { rooms, socket, fetches, conversations } = node("u", ["old", "kept"]);
		const refreshed = rooms.refresh(socket);
		await tick();
		fetches[0](["kept", "new"]);
		await refreshed;
		assert.equal(fetches.length, 1);
		assert.deepEqual(conversations(), ["kept", "new"]);
	});

	test("a room left while the list was fetched makes it fetch again, and is not joined again", async () => {
		const { rooms, socket, fetches, conversations } = node("u", ["g", "h"]);
		const refreshed = rooms.refresh(socket);
		await tick();
		rooms.left("g", "u");
		fetches[0](["g", "h"]);
		await tick();
		assert.equal(fetches.length, 2, "fetched again");
		fetches[1](["h"]);
		await refreshed;
		assert.deepEqual(conversations(), ["h"]);
	});

	test("when changes keep coming, the last fetch's list loses to the changes seen during it", async () => {
		const { rooms, socket, fetches, conversations } = node("u", ["g", "h"]);
		const refreshed = rooms.refresh(socket);
		for (let i = 0; i < 3; i++) {
			await tick();
			assert.equal(fetches.length, i + 1);
			rooms.left("g", "u");
			if (i === 2) rooms.joined("k", ["u"]);
			fetches[i](["g", "h"]);
		}
		await refreshed;
		assert.equal(fetches.length, 3, "a bounded number of fetches");
		assert.deepEqual(conversations(), ["h", "k"], "g left and k joined meanwhile: the stale list changes neither");
	});
});
