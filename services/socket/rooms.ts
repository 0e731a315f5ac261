import type { Logger, ServiceBroker } from "moleculer";
import type { ChatServer, ChatSocket } from "./chat-socket.ts";

/** Beyond this many entries, changes older than PRUNE_AFTER_MS are forgotten (a handshake takes far less). */
const PRUNE_ABOVE = 10_000;
const PRUNE_AFTER_MS = 60_000;

export const userRoom = (userId: string) => `user:${userId}`;

/** The conversations a user belongs to (each one a room). */
export function conversationsOf(broker: ServiceBroker, userId: string): Promise<string[]> {
	return broker.call<string[], { userId: string }>("groups.idsForUser", { userId });
}

/**
 * Which rooms this node's sockets are in. Membership events move the sockets of the users concerned;
 * a socket whose handshake fetched its rooms before such an event fetches them again once connected.
 */
export class Rooms {
	private io: ChatServer;
	private broker: ServiceBroker;
	private logger: Logger;
	/** userId → when this node last saw that user's memberships change. */
	private membershipChangedAt = new Map<string, number>();

	constructor(io: ChatServer, broker: ServiceBroker, logger: Logger) {
		this.io = io;
		this.broker = broker;
		this.logger = logger;
	}

	/** A new connection joins its user's room and the conversations fetched during the handshake. */
	joinInitial(socket: ChatSocket): void {
		const { user, initialRooms } = socket.data;
		socket.join([userRoom(user.id), ...(initialRooms?.groupIds ?? [])]);
		// Memberships that changed while the handshake was fetching them: fetch again.
		if ((this.membershipChangedAt.get(user.id) ?? 0) >= (initialRooms?.fetchedAt ?? 0)) void this.refresh(socket);
		delete socket.data.initialRooms;
	}

	/** Every socket of these users joins the conversation. */
	joined(groupId: string, userIds: string[]): void {
		this.io.in(userIds.map(userRoom)).socketsJoin(groupId);
		this.membershipChanged(userIds);
	}

	/** Every socket of this user leaves the conversation. */
	left(groupId: string, userId: string): void {
		this.io.in(userRoom(userId)).socketsLeave(groupId);
		this.membershipChanged([userId]);
	}

	async refresh(socket: ChatSocket): Promise<void> {
		try {
			const groupIds = new Set(await conversationsOf(this.broker, socket.data.user.id));
			for (const room of socket.rooms) {
				if (room !== socket.id && !room.startsWith("user:") && !groupIds.has(room)) socket.leave(room);
			}
			socket.join([...groupIds]);
		} catch (err) {
			this.logger.warn("Could not refresh a socket's rooms", err);
		}
	}

	private membershipChanged(userIds: string[], now = Date.now()): void {
		if (this.membershipChangedAt.size > PRUNE_ABOVE) {
			for (const [id, at] of this.membershipChangedAt) if (now - at > PRUNE_AFTER_MS) this.membershipChangedAt.delete(id);
		}
		for (const id of userIds) this.membershipChangedAt.set(id, now);
	}
}
