import { io, type Socket } from "socket.io-client";
import WebSocket from "ws";
import type { ClientSpec, SyncItem, TargetKind, WireMessage } from "./protocol.ts";

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

export function createClient(target: TargetKind, spec: ClientSpec): BenchClient {
	return target === "b1" ? new WsClient(spec) : new SocketIoClient(spec);
}

class SocketIoClient implements BenchClient {
	readonly spec: ClientSpec;
	private socket: Socket | null = null;
	private incoming: ((m: WireMessage) => void) | null = null;
	private reconnect: (() => void) | null = null;
	/** Sends written to a connection that may have died before their ack; a real client resends them (same clientMessageId). */
	private readonly unacked = new Map<string, PendingSend>();

	constructor(spec: ClientSpec) {
		this.spec = spec;
	}

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
		this.socket!.emit("chat.message.send", entry.payload, (res: SendAck) => {
			if (entry.done) return;
			entry.done = true;
			this.unacked.delete(entry.payload.clientMessageId);
			entry.ack(res ?? { ok: false, error: "empty ack" });
		});
	}

	onIncoming(listener: (m: WireMessage) => void): void {
		this.incoming = listener;
	}

	onReconnect(listener: () => void): void {
		this.reconnect = listener;
	}

	sync(cursors: Record<string, number>): Promise<SyncItem[]> {
		return new Promise((resolve, reject) => {
			this.socket!.timeout(30_000).emit("chat.sync", { cursors }, (err: Error | null, res: { ok: boolean; items?: SyncItem[]; error?: unknown }) => {
				if (err) reject(err);
				else if (!res?.ok) reject(new Error(`sync failed: ${JSON.stringify(res?.error ?? res)}`));
				else resolve(res.items ?? []);
			});
		});
	}

	drop(): void {
		// Closing the engine (not the socket) is what a network failure looks like: the manager reconnects.
		this.socket!.io.engine.close();
	}

	close(): void {
		this.socket?.disconnect();
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
