import type { AddressInfo } from "node:net";
import type { ServiceBroker } from "moleculer";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";

export type ClientSocket = Socket;

/** What every client → server event acks: {ok: true, ...result} or {ok: false, error}. */
export interface Ack {
	ok: boolean;
	error?: { name: string; message: string; code: number; type: string; data?: any };
	[key: string]: any;
}

/** The socket gateway's base URL on a node (its own port, or the API's when embedded). */
export function socketUrl(broker: ServiceBroker): string {
	const service = broker.getLocalService("socket") as unknown as { httpServer?: import("node:http").Server } | undefined;
	const address = service?.httpServer?.address() as AddressInfo | null | undefined;
	if (!address) throw new Error(`node ${broker.nodeID} runs no listening socket service`);
	return `http://127.0.0.1:${address.port}`;
}

/** Creates a socket (websocket only, no automatic reconnection) without waiting. */
export function openSocket(url: string, token: string | undefined, options: Record<string, unknown> = {}): ClientSocket {
	return io(url, {
		path: "/socket.io",
		transports: ["websocket"],
		auth: token === undefined ? {} : { token },
		reconnection: false,
		forceNew: true,
		timeout: 10_000,
		...options
	});
}

/** Connects with an access token and resolves once connected; rejects with the connect_error. */
export function connectSocket(url: string, token: string | undefined, options: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<ClientSocket> {
	const socket = openSocket(url, token, options);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			socket.close();
			reject(new Error(`socket did not connect within ${timeoutMs} ms`));
		}, timeoutMs);
		socket.once("connect", () => {
			clearTimeout(timer);
			socket.off("connect_error");
			resolve(socket);
		});
		socket.once("connect_error", err => {
			clearTimeout(timer);
			socket.close();
			reject(err);
		});
	});
}

/** Resolves with the payload of the next `event` (that passes `filter`), or rejects after `timeoutMs`. */
export function waitForEvent<T = any>(socket: ClientSocket, event: string, filter: (payload: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
	return new Promise((resolve, reject) => {
		const listener = (payload: T) => {
			if (!filter(payload)) return;
			clearTimeout(timer);
			socket.off(event, listener);
			resolve(payload);
		};
		const timer = setTimeout(() => {
			socket.off(event, listener);
			reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
		}, timeoutMs);
		socket.on(event, listener);
	});
}

/** Emits with an ack callback and resolves with the ack; rejects when the server does not answer in time. */
export async function emitWithAck<T extends Ack = Ack>(socket: ClientSocket, event: string, payload?: unknown, timeoutMs = 10_000): Promise<T> {
	return (payload === undefined ? socket.timeout(timeoutMs).emitWithAck(event) : socket.timeout(timeoutMs).emitWithAck(event, payload)) as Promise<T>;
}

/** Records every `event` a socket receives, for asserting what arrived (or that nothing did). */
export function collect<T = any>(socket: ClientSocket, event: string): T[] {
	const seen: T[] = [];
	socket.on(event, (payload: T) => seen.push(payload));
	return seen;
}

/** Polls `condition` until it holds; rejects with `message` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, message = "condition", timeoutMs = 10_000, intervalMs = 25): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
		await new Promise(r => setTimeout(r, intervalMs));
	}
}

/** Resolves when the socket is disconnected (by either side). */
export function disconnected(socket: ClientSocket, timeoutMs = 10_000): Promise<string> {
	if (socket.disconnected) return Promise.resolve("already disconnected");
	return waitForEvent<string>(socket, "disconnect", () => true, timeoutMs);
}

/** Closes every socket given, ignoring ones already closed. */
export function closeAll(...sockets: (ClientSocket | undefined)[]): void {
	for (const s of sockets) s?.close();
}

/** Redis is required in CI (CI=true: throws); elsewhere returns why Redis cases must skip, or false when it is up. */
export async function redisSkipReason(url: string): Promise<string | false> {
	const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
	try {
		await probe.connect();
		await probe.ping();
		return false;
	} catch (err) {
		if (process.env.CI === "true") throw new Error(`Redis is required in CI (${url}): ${(err as Error).message}`, { cause: err });
		return `Redis not reachable at ${url}`;
	} finally {
		probe.disconnect();
	}
}
