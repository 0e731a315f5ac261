import { createServer, type Server as HttpServer } from "node:http";
import type { Context, ServiceSchema } from "moleculer";
import type { GroupBase, NotificationSettings } from "../../contract/groups.ts";
import type { Message, ReactionsEvent, ReceiptEvent } from "../../contract/messages.ts";
import type { Presence, TypingEvent } from "../../contract/presence.ts";
import type { User } from "../../contract/users.ts";
import { chatConfig } from "../../lib/config.ts";
import { CHAT_METRICS } from "../../lib/metrics.ts";
import { idParam, params } from "../../lib/params.ts";
import { probeResponder } from "../../lib/probes.ts";
import type { SessionEnded } from "../../lib/session.ts";
import { admissionOf, rejectionTally } from "../../lib/overload.ts";
import { tokenBuckets } from "../../lib/rate-limiter.ts";
import { SocketOpsActions } from "../../mixins/ops.mixin.ts";
import type { ReadStateEvent } from "../messages/unread.ts";
import { createChatServer, listeningPort, type ChatServer, type ChatSocket, type SocketStats } from "./chat-socket.ts";
import { clientEventHandlers, listenClientEvents, type ClientEventHandlers, type SocketBudget } from "./client-events.ts";
import { EventBudget } from "./event-budget.ts";
import { FanOut, systemLineAudience } from "./fan-out.ts";
import { PresenceReporter } from "./presence-reporter.ts";
import { conversationsOf, Rooms, userRoom } from "./rooms.ts";
import { authenticate, cancelExpiry, ConnectionCap, EndedSessions, scheduleExpiry, sessionsOf } from "./session.ts";
import { TypingTracker } from "./typing.ts";

interface SocketThis {
	io: ChatServer;
	httpServer: HttpServer;
	ownsServer: boolean;
	stats: SocketStats;
	fanOut: FanOut;
	rooms: Rooms;
	typing: TypingTracker;
	presence: PresenceReporter;
	handlers: ClientEventHandlers;
	budget: SocketBudget;
	connectionCap: ConnectionCap;
	endedSessions: EndedSessions;
	onConnection(socket: ChatSocket): void;
}

const TYPING_THROTTLE_MS = 2000;
const TYPING_EXPIRE_MS = 6000;

/**
 * The real-time gateway. Each node delivers broker events to its own sockets only (default in-memory
 * adapter): a conversation is a room, every user also has a room `user:<id>`, and membership events
 * move this node's sockets between rooms (fan-out.ts, rooms.ts). Client events are acked (client-events.ts);
 * the handshake and token expiry are in session.ts.
 */
const SocketService: ServiceSchema<{}, {}, SocketThis> = {
	name: "socket",
	mixins: [SocketOpsActions],

	actions: {
		stats: {
			auth: "operator",
			handler(): SocketStats & { nodeID: string; rooms: number; port: number } {
				return { nodeID: this.broker.nodeID, ...this.stats, rooms: this.io.sockets.adapter.rooms.size, port: listeningPort(this.httpServer) };
			}
		},

		sessions: {
			auth: "operator",
			params: params({ userId: idParam }),
			handler(ctx: Context<{ userId: string }>) {
				return sessionsOf(this.io, this.broker.nodeID, ctx.params.userId);
			}
		},

		/** With a `reason`, the user's sessions were revoked: their clients are told why (sign in again) first. */
		disconnectUser: {
			auth: "operator",
			params: params({ userId: idParam, reason: { type: "string", trim: true, min: 1, max: 200, optional: true } }),
			handler(ctx: Context<{ userId: string; reason?: string }>) {
				const sessions = sessionsOf(this.io, this.broker.nodeID, ctx.params.userId);
				if (ctx.params.reason) this.io.in(userRoom(ctx.params.userId)).emit("session.revoked", { reason: ctx.params.reason });
				this.io.in(userRoom(ctx.params.userId)).disconnectSockets(true);
				return { nodeID: this.broker.nodeID, disconnected: sessions.length };
			}
		},

		announce: {
			auth: "operator",
			params: params({ text: { type: "string", trim: true, min: 1, max: 2000 }, groupId: { ...idParam, optional: true } }),
			handler(ctx: Context<{ text: string; groupId?: string }>) {
				const announcement = { text: ctx.params.text, groupId: ctx.params.groupId ?? null, at: new Date().toISOString() };
				const delivered = ctx.params.groupId
					? this.fanOut.emitTo(ctx.params.groupId, "system.announcement", announcement)
					: this.fanOut.emitAll("system.announcement", announcement);
				return { nodeID: this.broker.nodeID, delivered };
			}
		}
	},

	events: {
		/** The user's sessions were ended (a password change): their sockets hear why, then close. */
		"auth.sessions.revoked"(ctx: Context<{ userId: string; at: number; reason?: string }>) {
			const { userId, at, reason } = ctx.params;
			this.endedSessions.endUser(userId, at, reason);
			if (!reason) return;
			this.io.in(userRoom(userId)).emit("session.revoked", { reason });
			this.io.in(userRoom(userId)).disconnectSockets(true);
		},

		/** One sign-in ended (a logout, a reused refresh token): its sockets hear why, then close; the user's others stay. */
		"auth.session.ended"(ctx: Context<SessionEnded>) {
			const { userId, sessionId, at, reason } = ctx.params;
			this.endedSessions.endSession(sessionId, at, reason);
			for (const socketId of this.io.sockets.adapter.rooms.get(userRoom(userId)) ?? []) {
				const socket = this.io.sockets.sockets.get(socketId);
				if (socket?.data.sessionId !== sessionId) continue;
				socket.emit("session.revoked", { reason });
				socket.disconnect(true);
			}
		},

		"message.created"(ctx: Context<{ groupId: string; message: Message }>) {
			const { groupId, message } = ctx.params;
			const { also, except } = systemLineAudience(message.system, message.senderId);
			this.stats.messagesDelivered += this.fanOut.emitExcept([groupId, ...also.map(userRoom)], except.map(userRoom), "chat.message.incoming", message);
			if (this.broker.isMetricsEnabled()) this.broker.metrics.observe(CHAT_METRICS.FANOUT_LATENCY, Date.now() - Date.parse(ctx.params.message.createdAt));
		},

		"message.deleted"(ctx: Context<{ groupId: string; message: Message }>) {
			this.fanOut.emitTo(ctx.params.groupId, "chat.message.deleted", ctx.params.message);
		},

		"message.updated"(ctx: Context<{ groupId: string; message: Message }>) {
			this.fanOut.emitTo(ctx.params.groupId, "chat.message.updated", ctx.params.message);
		},

		"message.reactions"(ctx: Context<ReactionsEvent>) {
			this.fanOut.emitTo(ctx.params.groupId, "chat.message.reactions", ctx.params);
		},

		"message.delivered"(ctx: Context<ReceiptEvent>) {
			const { groupId, userId, seq } = ctx.params;
			this.fanOut.emitTo(groupId, "chat.message.delivered", { groupId, userId, seq });
		},

		"message.seen"(ctx: Context<ReceiptEvent>) {
			const { groupId, userId, seq } = ctx.params;
			this.fanOut.emitTo(groupId, "chat.message.seen", { groupId, userId, seq });
		},

		/** The user's own read state: their sockets only (no receipt others see changed). */
		"conversation.read-state"(ctx: Context<ReadStateEvent>) {
			const { userId, groupId, readSeq, unreadFrom } = ctx.params;
			this.fanOut.emitTo(userRoom(userId), "group.read-state", { groupId, readSeq, unreadFrom });
		},

		"group.created"(ctx: Context<{ groupId: string; group: GroupBase; memberIds: string[] }>) {
			const { groupId, group, memberIds } = ctx.params;
			this.rooms.joined(groupId, memberIds);
			this.fanOut.emitTo(groupId, "group.created", group);
		},

		"group.updated"(ctx: Context<{ groupId: string; group: GroupBase }>) {
			this.fanOut.emitTo(ctx.params.groupId, "group.updated", ctx.params.group);
		},

		"group.member.added"(ctx: Context<{ groupId: string; userIds: string[]; group: GroupBase }>) {
			const { groupId, userIds, group } = ctx.params;
			this.rooms.joined(groupId, userIds);
			this.fanOut.emitTo(groupId, "group.member.added", { groupId, userIds, group });
		},

		/** The removed user hears it too, then their sockets leave the room. */
		"group.member.removed"(ctx: Context<{ groupId: string; userId: string; group: GroupBase; actorId: string }>) {
			const { groupId, userId, group, actorId } = ctx.params;
			this.fanOut.emitTo([groupId, userRoom(userId)], "group.member.removed", { groupId, userId, group, actorId });
			this.rooms.left(groupId, userId);
			// Typing there ends with the membership (on the node that tracks it), not when its timer runs out.
			this.typing.stop(userId, groupId);
		},

		/** Only the member's own devices: a notification setting is nobody else's business. */
		"group.notifications.changed"(ctx: Context<{ groupId: string; userId: string; notifications: NotificationSettings }>) {
			const { groupId, userId, notifications } = ctx.params;
			this.fanOut.emitTo(userRoom(userId), "group.notifications", { groupId, notifications });
		},

		async "user.updated"(ctx: Context<{ user: User }>) {
			const { user } = ctx.params;
			const groupIds = await conversationsOf(this.broker, user.id);
			this.fanOut.emitTo([...groupIds, userRoom(user.id)], "user.updated", user);
		},

		"presence.changed"(ctx: Context<Presence & { groupIds: string[] }>) {
			const { userId, status, lastSeen, groupIds } = ctx.params;
			this.fanOut.emitTo([...groupIds, userRoom(userId)], "user.presence", { userId, status, lastSeen });
		},

		"typing.changed"(ctx: Context<TypingEvent>) {
			const { groupId, userId, typing } = ctx.params;
			this.fanOut.emitTo(groupId, "typing", { groupId, userId, typing });
		},

		/** Operators may broadcast these instead of calling every node; the action checks the event's operator pass. */
		"socket.announce"(ctx: Context<{ text: string; groupId?: string }>) {
			return this.actions.announce(ctx.params, { parentCtx: ctx }).catch((err: Error) => this.logger.warn(`socket.announce event refused: ${err.message}`));
		},

		"socket.disconnectUser"(ctx: Context<{ userId: string; reason?: string }>) {
			return this.actions
				.disconnectUser(ctx.params, { parentCtx: ctx })
				.catch((err: Error) => this.logger.warn(`socket.disconnectUser event refused: ${err.message}`));
		}
	},

	methods: {
		onConnection(socket: ChatSocket) {
			// Its session ended while the handshake was under way, before it was in a room to hear it.
			const ended = this.endedSessions.endOf(socket.data);
			if (ended) {
				if (ended.reason) socket.emit("session.revoked", { reason: ended.reason });
				socket.disconnect(true);
				return;
			}
			this.rooms.joinInitial(socket);
			this.stats.connected++;
			this.stats.connectionsTotal++;
			if (this.broker.isMetricsEnabled()) this.broker.metrics.set(CHAT_METRICS.SOCKETS_CONNECTED, this.stats.connected);
			scheduleExpiry(socket);
			listenClientEvents(socket, this.handlers, this.logger, this.budget);
			socket.on("disconnect", () => {
				this.stats.connected--;
				if (this.broker.isMetricsEnabled()) this.broker.metrics.set(CHAT_METRICS.SOCKETS_CONNECTED, this.stats.connected);
				cancelExpiry(socket);
				this.typing.stopSocket(socket.id);
				this.presence.disconnected(socket);
			});
			this.presence.connected(socket);
		}
	},

	created() {
		this.stats = { connected: 0, connectionsTotal: 0, messagesDelivered: 0, eventsDelivered: 0 };
		this.typing = new TypingTracker({
			throttleMs: TYPING_THROTTLE_MS,
			expireMs: TYPING_EXPIRE_MS,
			announce: signal => void this.broker.broadcast("typing.changed", signal)
		});
		this.presence = new PresenceReporter(this.broker, this.logger);
		this.handlers = clientEventHandlers({ broker: this.broker, typing: this.typing, presence: this.presence });
		const config = chatConfig(this.broker);
		const limits = config.socketLimits;
		const bucket = { perSecond: limits.eventsPerSecond, burst: limits.eventBurst };
		// With Redis a user's budget is one bucket across every gateway node.
		const limiter = tokenBuckets(config, "socket-rate", bucket);
		this.budget = {
			limits,
			budget: new EventBudget({ limiter, limits, onLimiterError: err => this.logger.warn("Socket event budget unavailable", err) }),
			sends: { state: () => admissionOf(this.broker, "send"), tally: rejectionTally(this.broker) }
		};
		this.connectionCap = new ConnectionCap(limits.maxSocketsPerUser);
		this.endedSessions = new EndedSessions(config.jwt.accessTtlSeconds * 1000);
	},

	async started() {
		const config = chatConfig(this.broker);
		const api = this.broker.getLocalService("api") as unknown as { server?: HttpServer } | undefined;
		this.ownsServer = !api?.server;
		this.httpServer = api?.server ?? createServer(probeResponder(this.broker));
		this.io = createChatServer(this.httpServer, config);
		this.fanOut = new FanOut(this.io, this.stats);
		this.rooms = new Rooms(this.io, this.broker, this.logger);
		this.io.use((socket, next) => {
			authenticate(this.broker, this.logger, socket, this.connectionCap).then(() => next(), next);
		});
		this.io.on("connection", socket => this.onConnection(socket));
		if (this.ownsServer) {
			await new Promise<void>((resolve, reject) => {
				this.httpServer.once("error", (err: Error) => reject(err));
				this.httpServer.listen(config.socketPort, config.host, () => resolve());
			});
			this.logger.info(`Socket gateway listening on ${config.host}:${listeningPort(this.httpServer)}`);
		}
		this.presence.keepNodeAlive(config.presence.heartbeatSeconds * 1000);
	},

	/** Tell clients to reconnect elsewhere; their users keep the grace period to do so. */
	async stopped() {
		await this.budget.budget.close();
		this.presence.stop();
		this.typing.clear();
		if (this.io) {
			this.io.emit("server.shutdown", { reconnect: true });
			for (const socket of this.io.sockets.sockets.values()) cancelExpiry(socket);
			await this.presence.dropNode();
			this.io.disconnectSockets(true);
			// The API's server belongs to the API service, which closes it.
			if (this.ownsServer) await this.io.close();
			else this.io.engine.close();
		}
	}
};

export default SocketService;
