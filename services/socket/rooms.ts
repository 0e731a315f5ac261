import type { Logger, ServiceBroker } from "moleculer";
import type { ChatServer, ChatSocket } from "./chat-socket.ts";

/** Beyond this many entries, changes older than PRUNE_AFTER_MS are forgotten (a handshake takes far less). */
const PRUNE_ABOVE = 10_000;
const PRUNE_AFTER_MS = 60_000;
/** A refresh fetches its rooms at most this many times while changes keep arriving during each fetch. */
const REFRESH_FETCHES = 3;

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
	/** userId → for each refresh of theirs in flight, the rooms joined (true) or left (false) during its fetch. */
	private readonly refreshing = new Map<string, Set<Map<string, boolean>>>();

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
		this.membershipChanged(userIds, groupId, true);
	}

	/** Every socket of this user leaves the conversation. */
	left(groupId: string, userId: string): void {
		this.io.in(userRoom(userId)).socketsLeave(groupId);
		this.membershipChanged([userId], groupId, false);
	}

	/**
	 * Puts the socket in the rooms of its user's conversations as they are now. A membership change seen
	 * while the list was being fetched makes it fetch again (the list may predate it); after the last fetch,
	 * the changes seen during it still win over the list, so a room left meanwhile is not joined again,
	 * nor one joined meanwhile left.
	 */
	async refresh(socket: ChatSocket): Promise<void> {
		const userId = socket.data.user.id;
		const seen = new Map<string, boolean>();
		let watchers = this.refreshing.get(userId);
		if (!watchers) this.refreshing.set(userId, (watchers = new Set()));
		watchers.add(seen);
		try {
			let groupIds: Set<string>;
			for (let fetches = 1; ; fetches++) {
				seen.clear();
				groupIds = new Set(await conversationsOf(this.broker, userId));
				if (seen.size === 0 || fetches >= REFRESH_FETCHES) break;
			}
			for (const [groupId, joined] of seen) {
				if (joined) groupIds.add(groupId);
				else groupIds.delete(groupId);
			}
			if (socket.disconnected) return;
			for (const room of socket.rooms) {
				if (room !== socket.id && !room.startsWith("user:") && !groupIds.has(room)) socket.leave(room);
			}
			socket.join([...groupIds]);
		} catch (err) {
			this.logger.warn("Could not refresh a socket's rooms", err);
		} finally {
			watchers.delete(seen);
			if (watchers.size === 0 && this.refreshing.get(userId) === watchers) this.refreshing.delete(userId);
		}
	}

	private membershipChanged(userIds: string[], groupId: string, joined: boolean, now = Date.now()): void {
		if (this.membershipChangedAt.size > PRUNE_ABOVE) {
			for (const [id, at] of this.membershipChangedAt) if (now - at > PRUNE_AFTER_MS) this.membershipChangedAt.delete(id);
		}
		for (const id of userIds) {
			this.membershipChangedAt.set(id, now);
			for (const seen of this.refreshing.get(id) ?? []) seen.set(groupId, joined);
		}
	}
}
