import type { IncomingMessage, Server as HttpServer } from "node:http";
import { Socket as NetSocket, type AddressInfo } from "node:net";
import { Server, type Socket } from "socket.io";
import type { ConnectionStatus } from "../../contract/presence.ts";
import type { ClientEventName, ServerEvents } from "../../contract/socket.ts";
import type { ChatConfig } from "../../lib/config.ts";
import { sameOrigin } from "../../lib/http.ts";
import type { SessionUser } from "../../lib/session.ts";
import type { RejectionWindow } from "./event-budget.ts";

/** Kept small on purpose: a gateway node holds tens of thousands of these. */
export interface SocketData {
	user: SessionUser;
	exp: number;
	/** The sign-in its access token belongs to (ended by a logout: `auth.session.ended`). */
	sessionId?: string;
	/** When its access token was issued (ms): a revocation of all the user's sessions covers tokens up to its time. */
	issuedAt?: number;
	connectedAt: number;
	status: ConnectionStatus;
	expiryTimer?: NodeJS.Timeout;
	/** Presence calls of one socket run in order, so a quick disconnect never overtakes its connect. */
	presence?: Promise<unknown>;
	/** Rooms fetched during the handshake, joined on connection. */
	initialRooms?: { groupIds: string[]; fetchedAt: number };
	/** Events refused by the budget lately (event-budget.ts); too many and the socket is closed. */
	rejections?: RejectionWindow;
	/** Being closed for flooding: the reason is on its way. */
	closing?: boolean;
}

/** What clients send is untrusted: client-events.ts checks each payload and finds the ack. */
type ClientListeners = { [E in ClientEventName]: (payload: unknown, ack: unknown) => void };
/** Only the events (and payloads) of the contract's ServerEvents can be emitted. */
type ServerEmitters = { [E in keyof ServerEvents]: ServerEvents[E] extends void ? () => void : (payload: ServerEvents[E]) => void };

export type ChatServer = Server<ClientListeners, ServerEmitters, {}, SocketData>;
export type ChatSocket = Socket<ClientListeners, ServerEmitters, {}, SocketData>;

export interface SocketStats {
	/** Sockets connected to this node now. */
	connected: number;
	connectionsTotal: number;
	/** `chat.message.incoming` emits to this node's sockets. */
	messagesDelivered: number;
	/** Every server → client emit to this node's sockets. */
	eventsDelivered: number;
}

/** Upper bound for a frame; larger ones close the connection (socket.io's rule), so keep it above every valid payload. */
const MAX_FRAME_BYTES = 1_000_000;

export function createChatServer(httpServer: HttpServer, config: ChatConfig): ChatServer {
	const io: ChatServer = new Server(httpServer, {
		path: "/socket.io",
		transports: ["websocket"],
		perMessageDeflate: false,
		httpCompression: false,
		serveClient: false,
		maxHttpBufferSize: MAX_FRAME_BYTES,
		allowRequest: (req, callback) => callback(originAllowed(req, config) ? null : "origin not allowed", originAllowed(req, config)),
		cleanupEmptyChildNamespaces: true
	});
	io.engine.on("connection", (connection: { transport?: { socket?: { _socket?: NetSocket } } }) => {
		const raw = connection.transport?.socket?._socket;
		if (raw) raw.write = coalescedWrite as NetSocket["write"];
	});
	return io;
}

/**
 * Frames written to one connection within an event-loop turn leave in one write() (writev) at the end of the
 * turn instead of a syscall each: on a busy node a socket gets its acks and several messages per turn, and
 * a loopback or LAN send costs microseconds of kernel time however small the frame.
 */
const corked = new Set<NetSocket>();
const writeThrough = NetSocket.prototype.write;

function coalescedWrite(this: NetSocket, ...args: unknown[]): boolean {
	if (!corked.has(this)) {
		if (corked.size === 0) setImmediate(uncorkAll);
		corked.add(this);
		this.cork();
	}
	return (writeThrough as (...a: unknown[]) => boolean).apply(this, args);
}

function uncorkAll(): void {
	const sockets = [...corked];
	corked.clear();
	for (const socket of sockets) socket.uncork();
}

/** Browsers send Origin on the websocket upgrade; other clients (apps, tests) do not. */
export function originAllowed(req: Pick<IncomingMessage, "headers">, config: Pick<ChatConfig, "http">): boolean {
	const origins = config.http.corsOrigins;
	const origin = req.headers.origin;
	if (origins === "*" || !origin || origins.includes(origin)) return true;
	// The web app served by this same origin.
	return sameOrigin(req);
}

export function listeningPort(httpServer: HttpServer | undefined): number {
	return (httpServer?.address() as AddressInfo | null | undefined)?.port ?? 0;
}
