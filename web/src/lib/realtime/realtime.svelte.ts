import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientEventName, ClientEvents, ServerEventName, ServerEvents } from '@scalable-chat/contract';
import { ApiError } from '#lib/api/errors.ts';
import type { AuthProvider } from '#lib/api/http.ts';

export type SocketStatus = 'idle' | 'connecting' | 'connected' | 'disconnected';

/** Where the connection gets its access token; the session provides it. */
export interface TokenSource extends AuthProvider {
	/** Called with every new access token (a live connection is handed it); returns the unsubscribe. */
	onAccessToken(listener: (accessToken: string) => void): () => void;
}

type Handler<E extends ServerEventName> = (payload: ServerEvents[E]) => void;
type Result<E extends ClientEventName> = ClientEvents[E]['result'];

const HEARTBEAT_MS = 25_000;
const ACK_TIMEOUT_MS = 10_000;

/** The one place that owns the socket.io connection. */
class Realtime {
	status = $state<SocketStatus>('idle');
	/** Whether a connection was ever established in this session (the banner shows only after). */
	everConnected = $state(false);

	#socket: Socket | null = null;
	#tokens: TokenSource | null = null;
	#handlers = new Map<ServerEventName, Set<(payload: never) => void>>();
	#connectListeners = new Set<(isReconnect: boolean) => void>();
	#heartbeat: ReturnType<typeof setInterval> | undefined;
	#cleanup: (() => void)[] = [];

	get connected(): boolean {
		return this.status === 'connected';
	}

	connect(tokens: TokenSource): void {
		if (this.#socket) return;
		this.status = 'connecting';
		this.#tokens = tokens;
		const socket = io(location.origin, {
			path: '/socket.io',
			transports: ['websocket'],
			// A function, so every reconnect attempt presents the current access token.
			auth: cb => cb({ token: tokens.accessToken() })
		});
		this.#socket = socket;

		socket.on('connect', () => {
			const isReconnect = this.everConnected;
			this.status = 'connected';
			this.everConnected = true;
			this.#authRetries = 0;
			this.#sendHeartbeat();
			for (const listener of this.#connectListeners) listener(isReconnect);
		});
		socket.on('disconnect', reason => {
			this.status = 'disconnected';
			// The server hung up on us (e.g. after auth.expired): socket.io will not retry by itself.
			if (reason === 'io server disconnect') void this.#reauthenticateAndConnect();
		});
		socket.on('connect_error', error => {
			this.status = 'disconnected';
			// Rejected by the server's auth middleware: no automatic retry, refresh first.
			if (!socket.active) void this.#reauthenticateAndConnect();
			else if (error.message === 'token_expired' || error.message === 'unauthorized') void tokens.refresh();
		});
		socket.on('auth.expired', () => void tokens.refresh());
		socket.onAny((event: string, payload: unknown) => {
			const handlers = this.#handlers.get(event as ServerEventName);
			if (handlers) for (const handler of handlers) (handler as (p: unknown) => void)(payload);
		});

		this.#cleanup.push(
			tokens.onAccessToken(token => {
				if (socket.connected) this.emit('auth.refresh', { token }).catch(() => undefined);
			})
		);

		this.#heartbeat = setInterval(() => this.#sendHeartbeat(), HEARTBEAT_MS);
		const onVisibility = () => this.#sendHeartbeat();
		document.addEventListener('visibilitychange', onVisibility);
		this.#cleanup.push(() => document.removeEventListener('visibilitychange', onVisibility));
	}

	disconnect(): void {
		clearInterval(this.#heartbeat);
		for (const fn of this.#cleanup.splice(0)) fn();
		this.#socket?.removeAllListeners();
		this.#socket?.disconnect();
		this.#socket = null;
		this.#tokens = null;
		this.status = 'idle';
		this.everConnected = false;
	}

	on<E extends ServerEventName>(event: E, handler: Handler<E>): () => void {
		let set = this.#handlers.get(event);
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a registry of listeners, never rendered
		if (!set) this.#handlers.set(event, (set = new Set()));
		set.add(handler as (payload: never) => void);
		return () => set.delete(handler as (payload: never) => void);
	}

	/** Called on every connect; `isReconnect` is false for the first one. */
	onConnect(listener: (isReconnect: boolean) => void): () => void {
		this.#connectListeners.add(listener);
		return () => this.#connectListeners.delete(listener);
	}

	/** Send a request and wait for its ack; rejects with ApiError on `{ok: false}` or a timeout. */
	emit<E extends ClientEventName>(
		event: E,
		payload: ClientEvents[E]['payload'],
		timeoutMs = ACK_TIMEOUT_MS
	): Promise<Result<E>> {
		const socket = this.#socket;
		if (!socket?.connected) return Promise.reject(new Error('Not connected'));
		return new Promise((resolve, reject) => {
			socket.timeout(timeoutMs).emit(event, payload, (err: Error | null, ack: Ack<Result<E>> | undefined) => {
				if (err) reject(new Error('The server did not answer in time'));
				else if (!ack?.ok) reject(new ApiError(400, ack?.error ?? {}));
				else resolve(ack);
			});
		});
	}

	#authRetries = 0;

	async #reauthenticateAndConnect(): Promise<void> {
		// Back off so a server that keeps rejecting us is not hammered.
		const delay = Math.min(30_000, 500 * 2 ** this.#authRetries++);
		await new Promise(r => setTimeout(r, delay));
		if (this.#socket && (await this.#tokens?.refresh())) this.#socket.connect();
	}

	#sendHeartbeat(): void {
		if (!this.#socket?.connected) return;
		const status = document.visibilityState === 'hidden' ? 'away' : 'online';
		this.emit('user.heartbeat', { status }).catch(() => undefined);
	}
}

export const realtime = new Realtime();
