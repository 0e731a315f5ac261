import type { ServerEventName, ServerEvents } from "../../contract/socket.ts";
import type { ChatServer, SocketStats } from "./chat-socket.ts";

type Payload<E extends ServerEventName> = ServerEvents[E] extends void ? [] : [payload: ServerEvents[E]];
type LooseEmit = (event: string, ...payload: unknown[]) => boolean;

/**
 * Server → client delivery on this node. A conversation is a room and every user also has a room
 * `user:<id>`, so one broker event per node reaches every recipient here without a query per recipient.
 */
export class FanOut {
	private io: ChatServer;
	private stats: SocketStats;

	constructor(io: ChatServer, stats: SocketStats) {
		this.io = io;
		this.stats = stats;
	}

	/** Emits to this node's sockets in the rooms, each socket once (socket.io's rule); returns how many it reached. */
	emitTo<E extends ServerEventName>(rooms: string | string[], event: E, ...payload: Payload<E>): number {
		const names = Array.isArray(rooms) ? rooms : [rooms];
		const all = this.io.sockets.adapter.rooms;
		const reached = names.length === 1 ? (all.get(names[0])?.size ?? 0) : new Set(names.flatMap(r => [...(all.get(r) ?? [])])).size;
		if (reached > 0) (this.io.to(names).emit as LooseEmit)(event, ...payload);
		this.stats.eventsDelivered += reached;
		return reached;
	}

	/** Every socket of this node. */
	emitAll<E extends ServerEventName>(event: E, ...payload: Payload<E>): number {
		const reached = this.io.sockets.sockets.size;
		(this.io.emit as LooseEmit)(event, ...payload);
		this.stats.eventsDelivered += reached;
		return reached;
	}
}
