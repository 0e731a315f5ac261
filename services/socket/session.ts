import type { Logger, ServiceBroker } from "moleculer";
import type { ErrorBody } from "../../contract/errors.ts";
import type { HandshakeRefusal } from "../../contract/socket.ts";
import { callerSigner } from "../../lib/cluster-trust.ts";
import { forbidden, MoleculerClientError, toClientError, unauthorized } from "../../lib/errors.ts";
import type { SessionUser } from "../../lib/session.ts";
import type { ChatServer, ChatSocket, SocketData } from "./chat-socket.ts";
import { conversationsOf, userRoom } from "./rooms.ts";

type ResolvedToken = SessionUser & { exp: number; issuedAt?: number; sessionId?: string };

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
			issuedAt: resolved.issuedAt,
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

/**
 * Sessions that ended lately (one sign-in: a logout; every sign-in of a user up to a time: a kick, a password
 * change), kept as long as an access token lives: a socket whose handshake was under way when the news came was
 * in no room to hear it, so it is checked once it has joined them.
 */
export class EndedSessions {
	readonly #ttlMs: number;
	readonly #sessions = new Map<string, { at: number; reason?: string }>();
	readonly #users = new Map<string, { at: number; reason?: string }>();

	constructor(ttlMs: number) {
		this.#ttlMs = ttlMs;
	}

	endSession(sessionId: string, at: number, reason?: string, now = Date.now()): void {
		this.#record(this.#sessions, sessionId, at, reason, now);
	}

	endUser(userId: string, at: number, reason?: string, now = Date.now()): void {
		this.#record(this.#users, userId, at, reason, now);
	}

	/** The end that covers this socket's token, if any. */
	endOf(data: Pick<SocketData, "user" | "sessionId" | "issuedAt">): { reason?: string } | null {
		const session = data.sessionId === undefined ? undefined : this.#sessions.get(data.sessionId);
		if (session) return session;
		const user = this.#users.get(data.user.id);
		return user && (data.issuedAt ?? 0) <= user.at ? user : null;
	}

	#record(map: Map<string, { at: number; reason?: string }>, key: string, at: number, reason: string | undefined, now: number): void {
		for (const [k, entry] of map) if (now - entry.at > this.#ttlMs) map.delete(k);
		if (now - at > this.#ttlMs) return;
		map.set(key, { at: Math.max(at, map.get(key)?.at ?? 0), ...(reason ? { reason } : {}) });
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
	socket.data.issuedAt = resolved.issuedAt;
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
