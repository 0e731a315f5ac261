import { createServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { Server, type Socket } from "socket.io";
import { SocketOpsActions } from "../mixins/ops.mixin.ts";
import { chatConfig, type ChatConfig } from "../lib/config.ts";
import { forbidden, invalidField, notFound, rateLimited, toClientError, unauthorized } from "../lib/errors.ts";
import type { GroupBase } from "../lib/groups.ts";
import type { Message } from "../lib/messages.ts";
import { CHAT_METRICS } from "../lib/metrics.ts";
import { probeResponder } from "../lib/probes.ts";
import { idParam, params } from "../lib/params.ts";
import type { Presence } from "../lib/presence-store.ts";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "../lib/rate-limiter.ts";
import type { SessionUser } from "../lib/session.ts";
import { TypingTracker, type TypingSignal } from "../lib/typing.ts";
import type { User } from "../lib/users.ts";

/** Kept small on purpose: a gateway node holds tens of thousands of these. */
interface SocketData {
	user: SessionUser;
	exp: number;
	connectedAt: number;
	status: "online" | "away";
	expiryTimer?: NodeJS.Timeout;
	/** Presence calls of one socket run in order, so a quick disconnect never overtakes its connect. */
	presence?: Promise<unknown>;
	/** Rooms fetched during the handshake, joined on connection. */
	initialRooms?: { groupIds: string[]; fetchedAt: number };
}

type ChatSocket = Socket<Record<string, (...args: any[]) => void>, Record<string, (...args: any[]) => void>, Record<string, never>, SocketData>;
type Payload = Record<string, unknown>;
type Handler = (this: SocketThis & Service, socket: ChatSocket, payload: Payload) => Promise<object | void>;

export interface SocketStats {
	/** Sockets connected to this node now. */
	connected: number;
	connectionsTotal: number;
	/** `chat.message.incoming` emits to this node's sockets. */
	messagesDelivered: number;
	/** Every server → client emit to this node's sockets. */
	eventsDelivered: number;
}

interface SocketThis {
	io: Server;
	httpServer: HttpServer;
	ownsServer: boolean;
	stats: SocketStats;
	limiter: RateLimiter;
	typing: TypingTracker;
	heartbeatTimer: NodeJS.Timeout | null;
	stopping: boolean;
	/** userId → when this node last saw that user's memberships change (bounded by pruning). */
	membershipChangedAt: Map<string, number>;
	checks: Record<string, (payload: Payload) => true | unknown[]>;
	port(): number;
	authenticate(socket: ChatSocket): Promise<void>;
	onConnection(socket: ChatSocket): void;
	listen(socket: ChatSocket, event: string, handler: Handler, ackOptional?: boolean): void;
	check(name: string, payload: Payload): void;
	scheduleExpiry(socket: ChatSocket): void;
	presenceCall(socket: ChatSocket, action: string, params: object): void;
	requireMember(userId: string, groupId: string): Promise<void>;
	emitTo(rooms: string | string[], event: string, payload: unknown): number;
	membershipChanged(userIds: string[]): void;
	refreshRooms(socket: ChatSocket): Promise<void>;
	sessionsOf(userId: string): { socketId: string; nodeID: string; connectedAt: string }[];
}

/** Upper bound for a frame; larger ones close the connection (socket.io's rule), so keep it above every valid payload. */
const MAX_FRAME_BYTES = 1_000_000;
const TYPING_THROTTLE_MS = 2000;
const TYPING_EXPIRE_MS = 6000;
const MAX_TIMER_MS = 2 ** 31 - 1;

const isPayload = (value: unknown): value is Payload => typeof value === "object" && value !== null && !Array.isArray(value);

/** Client → server events; each acks {ok: true, ...result} or {ok: false, error}. */
const HANDLERS: Record<string, Handler> = {
	async "chat.message.send"(socket, payload) {
		const { user } = socket.data;
		const decision = await this.limiter.take(`send:${user.id}`);
		if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
		const message = await this.broker.call<Message, Payload>("messages.send", payload, { meta: { user } });
		this.typing.stop(user.id, message.groupId);
		return { message };
	},

	async "chat.message.delivered"(socket, payload) {
		return this.broker.call<object, Payload>("messages.markDelivered", payload, { meta: { user: socket.data.user } });
	},

	async "chat.message.seen"(socket, payload) {
		return this.broker.call<object, Payload>("messages.markSeen", payload, { meta: { user: socket.data.user } });
	},

	async "chat.sync"(socket, payload) {
		return this.broker.call<object, Payload>("messages.sync", payload, { meta: { user: socket.data.user } });
	},

	async "presence.query"(socket, payload) {
		return this.broker.call<object, Payload>("presence.query", payload, { meta: { user: socket.data.user } });
	},

	async "typing.start"(socket, payload) {
		this.check("typing", payload);
		const groupId = payload.groupId as string;
		await this.requireMember(socket.data.user.id, groupId);
		this.typing.start(socket.data.user.id, groupId, socket.id);
		return { groupId };
	},

	async "typing.stop"(socket, payload) {
		this.check("typing", payload);
		this.typing.stop(socket.data.user.id, payload.groupId as string);
		return { groupId: payload.groupId };
	},

	async "user.heartbeat"(socket, payload) {
		this.check("heartbeat", payload);
		const status = payload.status as SocketData["status"] | undefined;
		if (status && status !== socket.data.status) {
			socket.data.status = status;
			this.presenceCall(socket, "presence.setStatus", { userId: socket.data.user.id, connId: socket.id, status });
		}
		return { status: socket.data.status };
	},

	/** Replaces the access token of a live connection before it expires. */
	async "auth.refresh"(socket, payload) {
		this.check("refresh", payload);
		const resolved = await this.broker.call<SessionUser & { exp: number }, object>("auth.resolveToken", { token: payload.token });
		if (resolved.id !== socket.data.user.id) throw forbidden("The token belongs to another user", "TOKEN_USER_MISMATCH");
		socket.data.exp = resolved.exp;
		this.scheduleExpiry(socket);
		return { exp: resolved.exp };
	}
};

/** Events whose ack a client may leave out (fire-and-forget signals). */
const ACK_OPTIONAL = new Set(["typing.start", "typing.stop", "user.heartbeat"]);

const PAYLOAD_SCHEMAS = {
	typing: params({ groupId: idParam }),
	heartbeat: params({ status: { type: "enum", values: ["online", "away"], optional: true } }),
	refresh: params({ token: { type: "string", min: 1, max: 4096 } })
};

/**
 * The real-time gateway. Each node delivers broker events to its own sockets only (default in-memory
 * adapter): a conversation is a room, every user also has a room `user:<id>`, and membership events
 * move this node's sockets between rooms. So one broker event per node fans out to every recipient
 * without a query per recipient.
 */
const SocketService: ServiceSchema<{}, {}, SocketThis> = {
	name: "socket",
	mixins: [SocketOpsActions],

	actions: {
		stats: {
			handler(): SocketStats & { nodeID: string; rooms: number; port: number } {
				return { nodeID: this.broker.nodeID, ...this.stats, rooms: this.io.sockets.adapter.rooms.size, port: this.port() };
			}
		},

		sessions: {
			params: params({ userId: idParam }),
			handler(ctx: Context<{ userId: string }>) {
				return this.sessionsOf(ctx.params.userId);
			}
		},

		disconnectUser: {
			params: params({ userId: idParam }),
			handler(ctx: Context<{ userId: string }>) {
				const sessions = this.sessionsOf(ctx.params.userId);
				this.io.in(`user:${ctx.params.userId}`).disconnectSockets(true);
				return { nodeID: this.broker.nodeID, disconnected: sessions.length };
			}
		},

		announce: {
			params: params({ text: { type: "string", trim: true, min: 1, max: 2000 }, groupId: { ...idParam, optional: true } }),
			handler(ctx: Context<{ text: string; groupId?: string }>) {
				const announcement = { text: ctx.params.text, groupId: ctx.params.groupId ?? null, at: new Date().toISOString() };
				const delivered = ctx.params.groupId
					? this.emitTo(ctx.params.groupId, "system.announcement", announcement)
					: (this.io.emit("system.announcement", announcement), (this.stats.eventsDelivered += this.io.sockets.sockets.size), this.io.sockets.sockets.size);
				return { nodeID: this.broker.nodeID, delivered };
			}
		}
	},

	events: {
		"message.created"(ctx: Context<{ groupId: string; message: Message }>) {
			this.stats.messagesDelivered += this.emitTo(ctx.params.groupId, "chat.message.incoming", ctx.params.message);
			if (this.broker.isMetricsEnabled())
				this.broker.metrics.observe(CHAT_METRICS.FANOUT_LATENCY, Date.now() - Date.parse(ctx.params.message.createdAt));
		},

		"message.deleted"(ctx: Context<{ groupId: string; message: Message }>) {
			this.emitTo(ctx.params.groupId, "chat.message.deleted", ctx.params.message);
		},

		"message.delivered"(ctx: Context<{ groupId: string; userId: string; seq: number }>) {
			const { groupId, userId, seq } = ctx.params;
			this.emitTo(groupId, "chat.message.delivered", { groupId, userId, seq });
		},

		"message.seen"(ctx: Context<{ groupId: string; userId: string; seq: number }>) {
			const { groupId, userId, seq } = ctx.params;
			this.emitTo(groupId, "chat.message.seen", { groupId, userId, seq });
		},

		"group.created"(ctx: Context<{ groupId: string; group: GroupBase; memberIds: string[] }>) {
			const { groupId, group, memberIds } = ctx.params;
			this.io.in(memberIds.map(id => `user:${id}`)).socketsJoin(groupId);
			this.membershipChanged(memberIds);
			this.emitTo(groupId, "group.created", group);
		},

		"group.updated"(ctx: Context<{ groupId: string; group: GroupBase }>) {
			this.emitTo(ctx.params.groupId, "group.updated", ctx.params.group);
		},

		"group.member.added"(ctx: Context<{ groupId: string; userIds: string[]; group: GroupBase }>) {
			const { groupId, userIds, group } = ctx.params;
			this.io.in(userIds.map(id => `user:${id}`)).socketsJoin(groupId);
			this.membershipChanged(userIds);
			this.emitTo(groupId, "group.member.added", { groupId, userIds, group });
		},

		/** The removed user hears it too, then their sockets leave the room. */
		"group.member.removed"(ctx: Context<{ groupId: string; userId: string; group: GroupBase }>) {
			const { groupId, userId, group } = ctx.params;
			this.emitTo([groupId, `user:${userId}`], "group.member.removed", { groupId, userId, group });
			this.io.in(`user:${userId}`).socketsLeave(groupId);
			this.membershipChanged([userId]);
		},

		async "user.updated"(ctx: Context<{ user: User }>) {
			const { user } = ctx.params;
			const groupIds = await this.broker.call<string[], object>("groups.idsForUser", { userId: user.id });
			this.emitTo([...groupIds, `user:${user.id}`], "user.updated", user);
		},

		"presence.changed"(ctx: Context<Presence & { groupIds: string[] }>) {
			const { userId, status, lastSeen, groupIds } = ctx.params;
			this.emitTo([...groupIds, `user:${userId}`], "user.presence", { userId, status, lastSeen });
		},

		"typing.changed"(ctx: Context<TypingSignal>) {
			const { groupId, userId, typing } = ctx.params;
			this.emitTo(groupId, "typing", { groupId, userId, typing });
		},

		/** Operators may broadcast these instead of calling every node. */
		"socket.announce"(ctx: Context<{ text: string; groupId?: string }>) {
			return this.actions.announce(ctx.params, { parentCtx: ctx });
		},

		"socket.disconnectUser"(ctx: Context<{ userId: string }>) {
			return this.actions.disconnectUser(ctx.params, { parentCtx: ctx });
		}
	},

	methods: {
		port() {
			return (this.httpServer?.address() as AddressInfo | null)?.port ?? 0;
		},

		/** Handshake: a valid access token, then the rooms to join (fetched now so no event slips in between). */
		async authenticate(socket) {
			try {
				const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
				if (typeof token !== "string" || token === "") throw unauthorized();
				const resolved = await this.broker.call<SessionUser & { exp: number }, object>("auth.resolveToken", { token });
				const fetchedAt = Date.now();
				const groupIds = await this.broker.call<string[], object>("groups.idsForUser", { userId: resolved.id });
				socket.data = {
					user: { id: resolved.id, username: resolved.username },
					exp: resolved.exp,
					connectedAt: Date.now(),
					status: "online",
					initialRooms: { groupIds, fetchedAt }
				};
			} catch (err) {
				const e = toClientError(err);
				const reason = e.type === "TOKEN_EXPIRED" ? "token_expired" : e.code < 500 ? "unauthorized" : "unavailable";
				if (e.code >= 500) this.logger.warn("Socket handshake failed", err);
				throw Object.assign(new Error(reason), { data: { type: e.code < 500 && e.type !== "TOKEN_EXPIRED" && e.type !== "INVALID_TOKEN" ? "UNAUTHORIZED" : e.type } });
			}
		},

		onConnection(socket) {
			const { user, initialRooms } = socket.data;
			socket.join([`user:${user.id}`, ...(initialRooms?.groupIds ?? [])]);
			// Memberships that changed while the handshake was fetching them: fetch again.
			if ((this.membershipChangedAt.get(user.id) ?? 0) >= (initialRooms?.fetchedAt ?? 0)) void this.refreshRooms(socket);
			delete socket.data.initialRooms;
			this.stats.connected++;
			this.stats.connectionsTotal++;
			if (this.broker.isMetricsEnabled()) this.broker.metrics.set(CHAT_METRICS.SOCKETS_CONNECTED, this.stats.connected);
			this.scheduleExpiry(socket);
			for (const [event, handler] of Object.entries(HANDLERS)) this.listen(socket, event, handler, ACK_OPTIONAL.has(event));
			socket.on("disconnect", () => {
				this.stats.connected--;
				if (this.broker.isMetricsEnabled()) this.broker.metrics.set(CHAT_METRICS.SOCKETS_CONNECTED, this.stats.connected);
				clearTimeout(socket.data.expiryTimer);
				this.typing.stopSocket(socket.id);
				if (!this.stopping) this.presenceCall(socket, "presence.disconnect", { userId: user.id, connId: socket.id });
			});
			this.presenceCall(socket, "presence.connect", { userId: user.id, connId: socket.id, nodeID: this.broker.nodeID });
		},

		listen(socket, event, handler, ackOptional = false) {
			socket.on(event, (payload: unknown, ack: unknown) => {
				if (typeof payload === "function" && ack === undefined) [payload, ack] = [undefined, payload];
				const reply = typeof ack === "function" ? (ack as (response: object) => void) : null;
				// Without an ack the client could never learn the outcome, so nothing is done.
				if (!reply && !ackOptional) return;
				const run = async () => {
					if (!isPayload(payload)) throw invalidField("payload", `The '${event}' payload must be an object.`, "object");
					return handler.call(this, socket, payload);
				};
				run().then(
					result => reply?.({ ok: true, ...(result ?? {}) }),
					err => {
						const error = toClientError(err);
						if (error.code >= 500) this.logger.error(`Socket event ${event} failed`, err);
						reply?.({ ok: false, error });
					}
				);
			});
		},

		check(name, payload) {
			const result = this.checks[name](payload);
			if (result !== true) throw new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", result);
		},

		/** At token expiry without an `auth.refresh`: tell the client and disconnect. */
		scheduleExpiry(socket) {
			clearTimeout(socket.data.expiryTimer);
			const delay = socket.data.exp * 1000 - Date.now();
			const timer = setTimeout(() => {
				if (socket.data.exp * 1000 > Date.now()) return this.scheduleExpiry(socket);
				socket.emit("auth.expired");
				socket.disconnect(true);
			}, Math.max(0, Math.min(delay, MAX_TIMER_MS)));
			timer.unref();
			socket.data.expiryTimer = timer;
		},

		presenceCall(socket, action, params) {
			const previous = socket.data.presence ?? Promise.resolve();
			const next = previous.then(() => this.broker.call(action, params)).catch((err: Error) => this.logger.warn(`${action} failed`, err?.message ?? err));
			socket.data.presence = next;
		},

		async requireMember(userId, groupId) {
			const membership = await this.broker.call<object | null, object>("groups.membership", { groupId, userId });
			if (!membership) throw notFound("Conversation");
		},

		/** Emits to this node's sockets in the rooms (each socket once); returns how many sockets got it. */
		emitTo(rooms, event, payload) {
			const names = Array.isArray(rooms) ? rooms : [rooms];
			const all = this.io.sockets.adapter.rooms;
			const reached = names.length === 1 ? (all.get(names[0])?.size ?? 0) : new Set(names.flatMap(r => [...(all.get(r) ?? [])])).size;
			if (reached > 0) this.io.to(names).emit(event, payload);
			this.stats.eventsDelivered += reached;
			return reached;
		},

		membershipChanged(userIds) {
			const now = Date.now();
			if (this.membershipChangedAt.size > 10_000) {
				for (const [id, at] of this.membershipChangedAt) if (now - at > 60_000) this.membershipChangedAt.delete(id);
			}
			for (const id of userIds) this.membershipChangedAt.set(id, now);
		},

		async refreshRooms(socket) {
			try {
				const groupIds = new Set(await this.broker.call<string[], object>("groups.idsForUser", { userId: socket.data.user.id }));
				for (const room of socket.rooms) {
					if (room !== socket.id && !room.startsWith("user:") && !groupIds.has(room)) socket.leave(room);
				}
				socket.join([...groupIds]);
			} catch (err) {
				this.logger.warn("Could not refresh a socket's rooms", err);
			}
		},

		sessionsOf(userId) {
			const ids = this.io.sockets.adapter.rooms.get(`user:${userId}`) ?? new Set<string>();
			return [...ids].flatMap(id => {
				const socket = this.io.sockets.sockets.get(id) as ChatSocket | undefined;
				return socket ? [{ socketId: id, nodeID: this.broker.nodeID, connectedAt: new Date(socket.data.connectedAt).toISOString() }] : [];
			});
		}
	},

	created() {
		const config = chatConfig(this.broker);
		this.stats = { connected: 0, connectionsTotal: 0, messagesDelivered: 0, eventsDelivered: 0 };
		this.stopping = false;
		this.heartbeatTimer = null;
		this.membershipChangedAt = new Map();
		const validator = this.broker.validator as unknown as { compile(schema: object): (payload: Payload) => true | unknown[] };
		this.checks = Object.fromEntries(Object.entries(PAYLOAD_SCHEMAS).map(([name, schema]) => [name, validator.compile(schema)]));
		const bucket = { perSecond: config.rateLimit.sendPerSecond, burst: config.rateLimit.sendBurst };
		this.limiter = config.redisUrl ? new RedisRateLimiter(config.redisUrl, `${config.namespace}:rate:`, bucket) : new MemoryRateLimiter(bucket);
		this.typing = new TypingTracker({
			throttleMs: TYPING_THROTTLE_MS,
			expireMs: TYPING_EXPIRE_MS,
			announce: signal => void this.broker.broadcast("typing.changed", signal)
		});
	},

	async started() {
		const config = chatConfig(this.broker);
		const api = this.broker.getLocalService("api") as unknown as { server?: HttpServer } | undefined;
		this.ownsServer = !api?.server;
		this.httpServer = api?.server ?? createServer(probeResponder(this.broker));
		this.io = new Server(this.httpServer, {
			path: "/socket.io",
			transports: ["websocket"],
			perMessageDeflate: false,
			httpCompression: false,
			serveClient: false,
			maxHttpBufferSize: MAX_FRAME_BYTES,
			allowRequest: (req, callback) => callback(originAllowed(req, config) ? null : "origin not allowed", originAllowed(req, config)),
			cleanupEmptyChildNamespaces: true
		});
		this.io.use((socket, next) => {
			this.authenticate(socket as ChatSocket).then(() => next(), next);
		});
		this.io.on("connection", socket => this.onConnection(socket as ChatSocket));
		if (this.ownsServer) {
			await new Promise<void>((resolve, reject) => {
				this.httpServer.once("error", (err: Error) => reject(err));
				this.httpServer.listen(config.socketPort, config.host, () => resolve());
			});
			this.logger.info(`Socket gateway listening on ${config.host}:${this.port()}`);
		}
		const renewLease = async () => {
			if (this.stopping || this.broker.stopping) return;
			await this.broker.call("presence.nodeAlive", { nodeID: this.broker.nodeID }).catch(err => this.logger.warn("presence.nodeAlive failed", err?.message ?? err));
		};
		// Embedded, presence starts alongside this service.
		void this.broker.waitForServices("presence", 30_000).then(renewLease, () => undefined);
		this.heartbeatTimer = setInterval(() => void renewLease(), config.presence.heartbeatSeconds * 1000);
		this.heartbeatTimer.unref();
	},

	/** Tell clients to reconnect elsewhere; their users keep the grace period to do so. */
	async stopped() {
		this.stopping = true;
		if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
		this.typing.clear();
		if (this.io) {
			this.io.emit("server.shutdown", { reconnect: true });
			for (const socket of this.io.sockets.sockets.values()) clearTimeout((socket as ChatSocket).data.expiryTimer);
			await this.broker.call("presence.dropNode", { nodeID: this.broker.nodeID }).catch(err => this.logger.warn("presence.dropNode failed", err?.message ?? err));
			this.io.disconnectSockets(true);
			// The API's server belongs to the API service, which closes it.
			if (this.ownsServer) await this.io.close();
			else this.io.engine.close();
		}
		await this.limiter.close();
	}
};

/** Browsers send Origin on the websocket upgrade; other clients (apps, tests) do not. */
function originAllowed(req: IncomingMessage, config: ChatConfig): boolean {
	const origins = config.http.corsOrigins;
	const origin = req.headers.origin;
	if (origins === "*" || !origin || origins.includes(origin)) return true;
	// The web app served by this same origin.
	return URL.canParse(origin) && new URL(origin).host === req.headers.host;
}

export default SocketService;
