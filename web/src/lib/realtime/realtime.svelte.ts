import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientEventName, ClientEvents, ServerEventName, ServerEvents } from '@scalable-chat/contract';
import { ApiError } from '#lib/api/errors.ts';
import type { AuthProvider } from '#lib/api/http.ts';
import { backoffDelay } from '#lib/retry/backoff.ts';

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

/**
 * The one place that owns the socket.io connection, and it never gives up on it. socket.io's own
 * reconnection is off: it stops for good after a server-side disconnect (`server.shutdown`, an
 * expired token) or a refused handshake, and it cannot say when it will try next. Here every loss
 * leads to another attempt, with backoff and jitter, a token refresh first when the last one was
 * refused, and an immediate one when the browser comes back online.
 */
class Realtime {
	status = $state<SocketStatus>('idle');
	/** Whether a connection was ever established in this session (the banner shows only after). */
	everConnected = $state(false);
	/** An attempt failed since the last connection (or since the page opened). */
	retrying = $state(false);
	/** When the next attempt starts (epoch ms), while one is scheduled. */
	nextAttemptAt = $state<number | null>(null);
	/** The browser says it has no network: nothing is tried until it does. */
	browserOffline = $state(false);
	/** The server said it is stopping (a restart or deploy), so the loss is expected. */
	serverStopping = $state(false);
	/** When the connection last came back after a loss (the banner says so, briefly). */
	restoredAt = $state<number | null>(null);

	#socket: Socket | null = null;
	#tokens: TokenSource | null = null;
	#handlers = new Map<ServerEventName, Set<(payload: never) => void>>();
	#connectListeners = new Set<(isReconnect: boolean) => void>();
	#heartbeat: ReturnType<typeof setInterval> | undefined;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	#attempt = 0;
	#needsRefresh = false;
	#refusedSinceRefresh = false;
	#cleanup: (() => void)[] = [];

	get connected(): boolean {
		return this.status === 'connected';
	}

	connect(tokens: TokenSource): void {
		if (this.#socket) return;
		this.status = 'connecting';
		this.#tokens = tokens;
		this.browserOffline = typeof navigator !== 'undefined' && navigator.onLine === false;
		const socket = io(location.origin, {
			path: '/socket.io',
			transports: ['websocket'],
			reconnection: false,
			// A function, so every attempt presents the current access token.
			auth: cb => cb({ token: tokens.accessToken() })
		});
		this.#socket = socket;

		socket.on('connect', () => {
			const isReconnect = this.everConnected;
			this.status = 'connected';
			this.everConnected = true;
			this.serverStopping = false;
			this.retrying = false;
			this.nextAttemptAt = null;
			this.#attempt = 0;
			this.#refusedSinceRefresh = false;
			if (isReconnect) this.restoredAt = Date.now();
			this.#sendHeartbeat();
			for (const listener of this.#connectListeners) listener(isReconnect);
		});
		socket.on('disconnect', reason => {
			this.status = 'disconnected';
			if (reason !== 'io client disconnect') this.#scheduleAttempt();
		});
		socket.on('connect_error', error => {
			this.status = 'disconnected';
			const refused = error.message === 'token_expired' || error.message === 'unauthorized';
			if (refused) this.#needsRefresh = true;
			// The server is up and only wants a fresh token: once, that is worth no wait at all.
			this.#scheduleAttempt(refused && !this.#refusedSinceRefresh);
			if (refused) this.#refusedSinceRefresh = true;
		});
		socket.on('server.shutdown', () => (this.serverStopping = true));
		socket.on('auth.expired', () => {
			this.#needsRefresh = true;
			void tokens.refresh();
		});
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
		this.#listen(document, 'visibilitychange', () => {
			this.#sendHeartbeat();
			// A phone waking up: do not make its user wait out a long backoff.
			if (document.visibilityState === 'visible' && this.nextAttemptAt !== null) this.reconnectNow();
		});
		this.#listen(window, 'online', () => {
			this.browserOffline = false;
			this.reconnectNow();
		});
		this.#listen(window, 'offline', () => {
			this.browserOffline = true;
			// The socket would notice only at its next missed ping; say so now.
			if (socket.connected) socket.io.engine?.close();
		});
	}

	disconnect(): void {
		clearInterval(this.#heartbeat);
		clearTimeout(this.#retryTimer);
		this.#retryTimer = undefined;
		for (const fn of this.#cleanup.splice(0)) fn();
		this.#socket?.removeAllListeners();
		this.#socket?.disconnect();
		this.#socket = null;
		this.#tokens = null;
		this.status = 'idle';
		this.everConnected = false;
		this.nextAttemptAt = null;
		this.retrying = false;
		this.serverStopping = false;
		this.restoredAt = null;
		this.#attempt = 0;
	}

	/** Try now instead of at the scheduled time (the user asked, or the network came back). */
	reconnectNow(): void {
		if (!this.#socket || this.#socket.connected) return;
		this.#attempt = 0;
		clearTimeout(this.#retryTimer);
		this.#retryTimer = undefined;
		this.#scheduleAttempt(true);
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

	#listen(target: EventTarget, type: string, listener: () => void): void {
		target.addEventListener(type, listener);
		this.#cleanup.push(() => target.removeEventListener(type, listener));
	}

	#scheduleAttempt(immediately = false): void {
		if (!this.#socket || this.#retryTimer !== undefined) return;
		this.retrying = true;
		if (this.browserOffline) {
			// The 'online' event starts the next attempt.
			this.nextAttemptAt = null;
			return;
		}
		const delay = immediately ? 0 : backoffDelay(this.#attempt++);
		this.nextAttemptAt = Date.now() + delay;
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = undefined;
			void this.#attemptNow();
		}, delay);
	}

	async #attemptNow(): Promise<void> {
		const socket = this.#socket;
		const tokens = this.#tokens;
		if (!socket || !tokens || socket.connected) return;
		this.nextAttemptAt = null;
		this.status = 'connecting';
		if (this.#needsRefresh || !tokens.accessToken()) {
			// A refresh that cannot reach the server is no reason to stop: the next attempt refreshes again.
			// A refresh the server refuses (401) ends the session, and with it this connection.
			const refreshed = await tokens.refresh();
			if (this.#socket !== socket) return;
			if (!refreshed) {
				this.status = 'disconnected';
				this.#scheduleAttempt();
				return;
			}
			this.#needsRefresh = false;
		}
		socket.connect();
	}

	#sendHeartbeat(): void {
		if (!this.#socket?.connected) return;
		const status = document.visibilityState === 'hidden' ? 'away' : 'online';
		this.emit('user.heartbeat', { status }).catch(() => undefined);
	}
}

export const realtime = new Realtime();
