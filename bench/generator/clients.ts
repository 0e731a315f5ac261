import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import type { ClientSpec, SocketIoClientKind, SyncItem, TargetKind, WireMessage } from "./protocol.ts";

export interface SendAck {
	ok: boolean;
	message?: WireMessage;
	error?: unknown;
}

/** One simulated user's connection, whatever the server under test speaks. */
export interface BenchClient {
	readonly spec: ClientSpec;
	connect(timeoutMs: number): Promise<void>;
	send(payload: { groupId: string; content: string; clientMessageId: string }, ack: (res: SendAck) => void): void;
	onIncoming(listener: (m: WireMessage) => void): void;
	/** Called after every reconnect (not the first connect). */
	onReconnect(listener: () => void): void;
	sync(cursors: Record<string, number>): Promise<SyncItem[]>;
	/** Cuts the connection as a network failure would; the client reconnects by itself. */
	drop(): void;
	close(): void;
}

interface PendingSend {
	payload: { groupId: string; content: string; clientMessageId: string };
	ack: (res: SendAck) => void;
	done: boolean;
}

interface SyncAnswer {
	ok: boolean;
	items?: SyncItem[];
	error?: unknown;
}

function syncItemsOf(res: SyncAnswer | undefined): SyncItem[] {
	if (!res?.ok) throw new Error(`sync failed: ${JSON.stringify(res?.error ?? res)}`);
	return res.items ?? [];
}

export function createClient(target: TargetKind, spec: ClientSpec, socketIoClient: SocketIoClientKind = "raw"): BenchClient {
	if (target === "b1") return new WsClient(spec);
	return socketIoClient === "socketio" ? new SocketIoClient(spec) : new RawSocketIoClient(spec);
}

/** What both socket.io clients share: the listeners and the sends that wait for their ack. */
abstract class SocketIoClientBase {
	readonly spec: ClientSpec;
	protected incoming: ((m: WireMessage) => void) | null = null;
	protected reconnect: (() => void) | null = null;
	/** Sends written to a connection that may have died before their ack; a real client resends them (same clientMessageId). */
	protected readonly unacked = new Map<string, PendingSend>();

	constructor(spec: ClientSpec) {
		this.spec = spec;
	}

	onIncoming(listener: (m: WireMessage) => void): void {
		this.incoming = listener;
	}

	onReconnect(listener: () => void): void {
		this.reconnect = listener;
	}

	/** The first answer settles a send; a resent copy's later answer is ignored. */
	protected answered(entry: PendingSend, res: SendAck | undefined): void {
		if (entry.done) return;
		entry.done = true;
		this.unacked.delete(entry.payload.clientMessageId);
		entry.ack(res ?? { ok: false, error: "empty ack" });
	}
}

class SocketIoClient extends SocketIoClientBase implements BenchClient {
	private socket: Socket | null = null;

	connect(timeoutMs: number): Promise<void> {
		return new Promise((resolve, reject) => {
			// forceNew: io() would otherwise multiplex every client of one URL over a single connection.
			// localAddress reaches ws through engine.io-client's transport options.
			const socket = io(this.spec.url, {
				path: "/socket.io",
				transports: ["websocket"],
				auth: this.spec.auth,
				forceNew: true,
				reconnection: true,
				timeout: timeoutMs,
				...({ localAddress: this.spec.localAddress } as object)
			});
			this.socket = socket;
			let first = true;
			socket.on("chat.message.incoming", (m: WireMessage) => this.incoming?.(m));
			socket.on("connect", () => {
				if (first) {
					first = false;
					resolve();
				} else {
					for (const entry of this.unacked.values()) this.emitSend(entry);
					this.reconnect?.();
				}
			});
			socket.on("connect_error", err => {
				if (first) {
					first = false;
					socket.disconnect();
					reject(err);
				}
			});
		});
	}

	send(payload: { groupId: string; content: string; clientMessageId: string }, ack: (res: SendAck) => void): void {
		const entry: PendingSend = { payload, ack, done: false };
		// While disconnected, socket.io buffers the emit and sends it on reconnect by itself.
		if (this.socket!.connected) this.unacked.set(payload.clientMessageId, entry);
		this.emitSend(entry);
	}

	private emitSend(entry: PendingSend): void {
		this.socket!.emit("chat.message.send", entry.payload, (res: SendAck) => this.answered(entry, res));
	}

	sync(cursors: Record<string, number>): Promise<SyncItem[]> {
		return this.socket!.timeout(30_000).emitWithAck("chat.sync", { cursors }).then(syncItemsOf);
	}

	drop(): void {
		// Closing the engine (not the socket) is what a network failure looks like: the manager reconnects.
		this.socket!.io.engine.close();
	}

	close(): void {
		this.socket?.disconnect();
	}
}

/** engine.io packet types (first character of a websocket frame) and socket.io packet types (the second, after `4`). */
const EIO_OPEN = 0x30; // "0"
const EIO_CLOSE = 0x31; // "1"
const EIO_PING = 0x32; // "2"
const EIO_MESSAGE = 0x34; // "4"
const SIO_CONNECT = 0x30; // "40"
const SIO_DISCONNECT = 0x31; // "41"
const SIO_EVENT = 0x32; // "42"
const SIO_ACK = 0x33; // "43"
const SIO_CONNECT_ERROR = 0x34; // "44"
const INCOMING_PREFIX = '42["chat.message.incoming",';

/** What a connection's pending acks are answered with when it drops: they will never come. */
const DISCONNECTED = Symbol("disconnected");
type AckAnswer = (res: any) => void;

/** socket.io-client's reconnection defaults: 1 s doubling up to 5 s, ±50% jitter, so S5's recovery times compare. */
function reconnectDelayMs(attempt: number): number {
	const ms = Math.min(1000 * 2 ** attempt, 5000);
	return Math.round(ms * (1 + (Math.random() - 0.5)));
}

/**
 * socket.io's wire protocol (engine.io v4 / socket.io v5, websocket transport, no binary) spoken over `ws`
 * directly. socket.io-client costs the generator several layers per received frame (engine.io-client,
 * socket.io-parser, emitters); here an incoming message is one JSON.parse of the frame after its prefix, and
 * what the load does not need (other events, the client side of the heartbeat timeout) is not read at all.
 * Sends are kept until acknowledged and written again, same clientMessageId, on every reconnect.
 */
class RawSocketIoClient extends SocketIoClientBase implements BenchClient {
	private ws: WebSocket | null = null;
	private timeoutMs = 20_000;
	private connected = false;
	private everConnected = false;
	/** No more reconnects: closed by us, refused by the server (connect error, server disconnect), or the first connect failed. */
	private stopped = false;
	private reconnectAttempts = 0;
	/** Ack id → answer, for the current connection only. */
	private acks = new Map<number, AckAnswer>();
	private nextAckId = 0;

	connect(timeoutMs: number): Promise<void> {
		this.timeoutMs = timeoutMs;
		return this.open().catch(err => {
			this.stopped = true;
			throw err;
		});
	}

	/** One connection attempt: websocket upgrade, engine.io open, socket.io connect with `auth`. */
	private open(): Promise<void> {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(`${this.spec.url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`, {
				localAddress: this.spec.localAddress,
				handshakeTimeout: this.timeoutMs,
				perMessageDeflate: false
			});
			this.ws = ws;
			let settled = false;
			const settle = (err?: Error) => {
				if (settled) return;
				settled = true;
				clearTimeout(timer);
				if (err) reject(err);
				else resolve();
			};
			const timer = setTimeout(() => {
				settle(new Error(`no socket.io connect within ${this.timeoutMs} ms`));
				ws.terminate();
			}, this.timeoutMs);
			ws.on("message", (data: Buffer) => this.onFrame(ws, data.toString(), settle));
			ws.on("error", err => settle(err));
			ws.on("close", () => {
				settle(new Error("connection closed before the socket.io connect"));
				this.onClose(ws);
			});
		});
	}

	private onFrame(ws: WebSocket, frame: string, settle: (err?: Error) => void): void {
		const type = frame.charCodeAt(0);
		if (type === EIO_MESSAGE) {
			const packet = frame.charCodeAt(1);
			if (packet === SIO_EVENT) {
				if (frame.startsWith(INCOMING_PREFIX)) this.incoming?.(JSON.parse(frame.slice(INCOMING_PREFIX.length, -1)));
			} else if (packet === SIO_ACK) this.onAck(frame);
			else if (packet === SIO_CONNECT) {
				this.connected = true;
				settle();
				this.onConnected();
			} else if (packet === SIO_CONNECT_ERROR) {
				// socket.io-client does not retry a handshake the server refused, nor reconnect after the server's disconnect.
				this.stopped = true;
				const body = frame.length > 2 ? (JSON.parse(frame.slice(2)) as { message?: string }) : {};
				settle(new Error(body.message ?? "connect error"));
				ws.close();
			} else if (packet === SIO_DISCONNECT) {
				this.stopped = true;
				this.connected = false;
				ws.close();
			}
		} else if (type === EIO_PING) ws.send("3");
		else if (type === EIO_OPEN) ws.send("40" + JSON.stringify(this.spec.auth));
		else if (type === EIO_CLOSE) ws.terminate();
	}

	/** `43<id>[answer]` */
	private onAck(frame: string): void {
		const bracket = frame.indexOf("[", 2);
		const id = Number(frame.slice(2, bracket));
		const answer = this.acks.get(id);
		if (!answer) return;
		this.acks.delete(id);
		answer(bracket + 2 < frame.length ? JSON.parse(frame.slice(bracket + 1, -1)) : undefined);
	}

	private onConnected(): void {
		this.reconnectAttempts = 0;
		const reconnected = this.everConnected;
		this.everConnected = true;
		for (const entry of this.unacked.values()) this.writeSend(entry);
		if (reconnected) this.reconnect?.();
	}

	private onClose(ws: WebSocket): void {
		if (ws !== this.ws) return;
		this.connected = false;
		const pending = this.acks;
		this.acks = new Map();
		for (const answer of pending.values()) answer(DISCONNECTED);
		if (this.stopped || !this.everConnected) return;
		setTimeout(() => {
			if (!this.stopped) this.open().catch(() => undefined);
		}, reconnectDelayMs(this.reconnectAttempts++));
	}

	send(payload: { groupId: string; content: string; clientMessageId: string }, ack: (res: SendAck) => void): void {
		const entry: PendingSend = { payload, ack, done: false };
		this.unacked.set(payload.clientMessageId, entry);
		if (this.connected) this.writeSend(entry);
	}

	private writeSend(entry: PendingSend): void {
		const id = this.nextAckId++;
		// A drop's answer is none: the send stays unacknowledged and goes again on the reconnect.
		this.acks.set(id, (res: SendAck | undefined | typeof DISCONNECTED) => res !== DISCONNECTED && this.answered(entry, res));
		this.ws!.send(`42${id}["chat.message.send",${JSON.stringify(entry.payload)}]`);
	}

	sync(cursors: Record<string, number>): Promise<SyncItem[]> {
		return this.request("chat.sync", { cursors }).then(syncItemsOf);
	}

	/** An emit with an ack that fails when the connection drops or no answer comes in time (socket.io-client's `timeout().emitWithAck`). */
	private request(event: string, payload: unknown, timeoutMs = 30_000): Promise<any> {
		return new Promise((resolve, reject) => {
			if (!this.connected) {
				reject(new Error(`${event} while disconnected`));
				return;
			}
			const id = this.nextAckId++;
			const timer = setTimeout(() => {
				this.acks.delete(id);
				reject(new Error(`${event}: no answer within ${timeoutMs} ms`));
			}, timeoutMs);
			this.acks.set(id, res => {
				clearTimeout(timer);
				if (res === DISCONNECTED) reject(new Error("socket has been disconnected"));
				else resolve(res);
			});
			this.ws!.send(`42${id}${JSON.stringify([event, payload])}`);
		});
	}

	drop(): void {
		// No close handshake: the server learns of it as of a network failure, and we reconnect by ourselves.
		this.ws?.terminate();
	}

	close(): void {
		this.stopped = true;
		if (this.connected) this.ws!.send("41");
		this.ws?.close();
	}
}

/** B1's client: plain WebSocket frames of JSON, `{t, a?, d}`. */
class WsClient implements BenchClient {
	readonly spec: ClientSpec;
	private ws: WebSocket | null = null;
	private incoming: ((m: WireMessage) => void) | null = null;
	private readonly acks = new Map<number, (res: SendAck) => void>();
	private nextAck = 1;

	constructor(spec: ClientSpec) {
		this.spec = spec;
	}

	connect(timeoutMs: number): Promise<void> {
		const query = new URLSearchParams({ user: this.spec.userId, groups: this.spec.groups.join(",") });
		const ws = new WebSocket(`${this.spec.url.replace(/^http/, "ws")}/?${query}`, {
			localAddress: this.spec.localAddress,
			handshakeTimeout: timeoutMs,
			perMessageDeflate: false
		});
		this.ws = ws;
		ws.on("message", (data: Buffer) => {
			const frame = JSON.parse(data.toString()) as { t: string; a?: number; d: any };
			if (frame.t === "msg") this.incoming?.(frame.d);
			else if (frame.t === "ack") {
				const ack = this.acks.get(frame.a!);
				this.acks.delete(frame.a!);
				ack?.(frame.d);
			}
		});
		return new Promise((resolve, reject) => {
			ws.once("open", () => resolve());
			ws.once("error", reject);
		});
	}

	send(payload: { groupId: string; content: string; clientMessageId: string }, ack: (res: SendAck) => void): void {
		const a = this.nextAck++;
		this.acks.set(a, ack);
		this.ws!.send(JSON.stringify({ t: "send", a, d: payload }));
	}

	onIncoming(listener: (m: WireMessage) => void): void {
		this.incoming = listener;
	}

	onReconnect(): void {
		// B1 keeps no history, so it is never part of the reconnect scenario.
	}

	sync(): Promise<SyncItem[]> {
		return Promise.reject(new Error("B1 has no sync"));
	}

	drop(): void {
		this.ws?.terminate();
	}

	close(): void {
		this.ws?.close();
	}
}
