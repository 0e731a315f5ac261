import type { SystemLine } from "../../contract/messages.ts";
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

	/** Like emitTo, leaving out the sockets that are also in an `except` room. */
	emitExcept<E extends ServerEventName>(rooms: string[], except: string[], event: E, ...payload: Payload<E>): number {
		if (except.length === 0) return this.emitTo(rooms, event, ...payload);
		const all = this.io.sockets.adapter.rooms;
		const left = new Set(except.flatMap(r => [...(all.get(r) ?? [])]));
		const reached = new Set(rooms.flatMap(r => [...(all.get(r) ?? [])]).filter(id => !left.has(id))).size;
		if (reached > 0) (this.io.to(rooms).except(except).emit as LooseEmit)(event, ...payload);
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

/**
 * The users a system line reaches besides the conversation's room, and those it must not reach: the
 * members after the change. In a cluster the line may arrive before the membership event that moves
 * their sockets between rooms, so the line names them itself.
 */
export function systemLineAudience(system: SystemLine | null, actorId: string): { also: string[]; except: string[] } {
	if (system?.type === "members.added") return { also: system.userIds, except: [] };
	if (system?.type === "member.removed") return { also: [], except: [system.userId] };
	if (system?.type === "member.left") return { also: [], except: [actorId] };
	return { also: [], except: [] };
}
