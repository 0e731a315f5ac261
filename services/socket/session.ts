import type { Logger, ServiceBroker } from "moleculer";
import type { ErrorBody } from "../../contract/errors.ts";
import type { HandshakeRefusal } from "../../contract/socket.ts";
import { callerSigner } from "../../lib/cluster-trust.ts";
import { forbidden, MoleculerClientError, toClientError, unauthorized } from "../../lib/errors.ts";
import type { SessionUser } from "../../lib/session.ts";
import type { ChatServer, ChatSocket } from "./chat-socket.ts";
import { conversationsOf, userRoom } from "./rooms.ts";

type ResolvedToken = SessionUser & { exp: number; sessionId?: string };

const MAX_TIMER_MS = 2 ** 31 - 1;

const TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS";
const tooManyConnections = () => new MoleculerClientError("Too many connections for this user; close another tab or device", 429, TOO_MANY_CONNECTIONS);

const resolveToken = (broker: ServiceBroker, token: string) => broker.call<ResolvedToken, { token: string }>("auth.resolveToken", { token });

/**
 * At most `max` sockets per user on this node, counted from the handshake's end until the connection
 * closes. The new socket is the one refused: closing the oldest instead would let anyone holding a
 * token (or a tab stuck in a reconnect loop) push the user's other sessions off, one after another.
 */
export class ConnectionCap {
	private readonly max: number;
	private readonly counts = new Map<string, number>();

	constructor(max: number) {
		this.max = max;
	}

	count(userId: string): number {
		return this.counts.get(userId) ?? 0;
	}

	/** Takes a place for the socket, given back once when it (or its transport) closes. */
	admit(socket: ChatSocket, userId: string): boolean {
		const count = this.count(userId);
		if (count >= this.max) return false;
		this.counts.set(userId, count + 1);
		let released = false;
		const release = () => {
			if (released) return;
			released = true;
			const left = this.count(userId) - 1;
			if (left > 0) this.counts.set(userId, left);
			else this.counts.delete(userId);
		};
		socket.once("disconnect", release);
		// A client gone between the handshake and the connection never disconnects: its transport still closes.
		socket.conn.once("close", release);
		return true;
	}
}

/** Handshake: a valid access token, then the rooms to join (fetched now so no event slips in between). */
export async function authenticate(broker: ServiceBroker, logger: Logger, socket: ChatSocket, cap: ConnectionCap): Promise<void> {
	try {
		const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
		if (typeof token !== "string" || token === "") throw unauthorized();
		const resolved = await resolveToken(broker, token);
		const fetchedAt = Date.now();
		const groupIds = await conversationsOf(broker, resolved.id);
		if (!cap.admit(socket, resolved.id)) throw tooManyConnections();
		socket.data = {
			// Signed with the cluster secret for as long as the token: the services trust no other meta.user.
			user: callerSigner(broker).signUser(resolved, resolved.exp),
			exp: resolved.exp,
			sessionId: resolved.sessionId,
			connectedAt: Date.now(),
			status: "online",
			initialRooms: { groupIds, fetchedAt }
		};
	} catch (err) {
		if ((err as { type?: string }).type === TOO_MANY_CONNECTIONS)
			throw Object.assign(new Error("too_many_connections" satisfies HandshakeRefusal), { data: { type: TOO_MANY_CONNECTIONS } });
		const error = toClientError(err);
		if (error.code >= 500) logger.warn("Socket handshake failed", err);
		throw handshakeRefusal(error);
	}
}

/** Token refusals a client can act on, named as they are; any other client error says only UNAUTHORIZED. */
const TOKEN_REFUSALS: ReadonlySet<string> = new Set(["TOKEN_EXPIRED", "INVALID_TOKEN", "SESSION_REVOKED"]);

/** The `connect_error` a client gets: the reason as its message, the error type in `data.type`. */
export function handshakeRefusal(error: ErrorBody): Error & { data: { type: string } } {
	const reason: HandshakeRefusal = error.type === "TOKEN_EXPIRED" ? "token_expired" : error.code < 500 ? "unauthorized" : "unavailable";
	const type = error.code < 500 && !TOKEN_REFUSALS.has(error.type) ? "UNAUTHORIZED" : error.type;
	return Object.assign(new Error(reason), { data: { type } });
}

/** `auth.refresh`: a new access token of the same user extends the connection. */
export async function refreshSession(broker: ServiceBroker, socket: ChatSocket, token: string): Promise<{ exp: number }> {
	const resolved = await resolveToken(broker, token);
	if (resolved.id !== socket.data.user.id) throw forbidden("The token belongs to another user", "TOKEN_USER_MISMATCH");
	socket.data.exp = resolved.exp;
	socket.data.sessionId = resolved.sessionId;
	socket.data.user = callerSigner(broker).signUser(resolved, resolved.exp);
	scheduleExpiry(socket);
	return { exp: resolved.exp };
}

/** At token expiry without an `auth.refresh`: tell the client and disconnect. */
export function scheduleExpiry(socket: ChatSocket): void {
	clearTimeout(socket.data.expiryTimer);
	const delay = socket.data.exp * 1000 - Date.now();
	const timer = setTimeout(
		() => {
			if (socket.data.exp * 1000 > Date.now()) return scheduleExpiry(socket);
			socket.emit("auth.expired");
			socket.disconnect(true);
		},
		Math.max(0, Math.min(delay, MAX_TIMER_MS))
	);
	timer.unref();
	socket.data.expiryTimer = timer;
}

export function cancelExpiry(socket: ChatSocket): void {
	clearTimeout(socket.data.expiryTimer);
}

/** This node's connections of a user, for operators. */
export function sessionsOf(io: ChatServer, nodeID: string, userId: string): { socketId: string; nodeID: string; connectedAt: string }[] {
	const ids = io.sockets.adapter.rooms.get(userRoom(userId)) ?? new Set<string>();
	return [...ids].flatMap(id => {
		const socket = io.sockets.sockets.get(id);
		return socket ? [{ socketId: id, nodeID, connectedAt: new Date(socket.data.connectedAt).toISOString() }] : [];
	});
}
