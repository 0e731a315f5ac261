import { authApi, usersApi } from '#lib/api/client.ts';
import { ApiError } from '#lib/api/errors.ts';
import { setAuthProvider, type AuthProvider } from '#lib/api/http.ts';
import type { AuthResult, TokenPair, User } from '@scalable-chat/contract';
import { refreshDelayMs, refreshTokenStorage, withRefreshLock } from '#lib/session/token-store.ts';

export type SessionStatus = 'loading' | 'anonymous' | 'authenticated';

type TokenListener = (accessToken: string) => void;

/** Who is logged in, and the tokens that prove it. */
class SessionManager implements AuthProvider {
	status = $state<SessionStatus>('loading');
	user = $state<User | null>(null);

	#accessToken: string | null = null;
	#refreshTimer: ReturnType<typeof setTimeout> | undefined;
	#refreshing: Promise<boolean> | null = null;
	#tokenListeners = new Set<TokenListener>();
	#endListeners = new Set<() => void>();

	constructor() {
		setAuthProvider(this);
	}

	get userId(): string {
		return this.user?.id ?? '';
	}

	accessToken(): string | null {
		return this.#accessToken;
	}

	/** Called with every new access token (the realtime module forwards it to the socket). */
	onAccessToken(listener: TokenListener): () => void {
		this.#tokenListeners.add(listener);
		return () => this.#tokenListeners.delete(listener);
	}

	/** Called when the session ends (logout or revoked). */
	onEnd(listener: () => void): () => void {
		this.#endListeners.add(listener);
		return () => this.#endListeners.delete(listener);
	}

	/** Restore the session after a reload from the stored refresh token. */
	async init(): Promise<void> {
		if (this.status !== 'loading') return;
		if (!refreshTokenStorage.get()) {
			this.status = 'anonymous';
			return;
		}
		if (!(await this.refresh())) {
			this.status = 'anonymous';
			return;
		}
		try {
			this.user = await usersApi.profile();
			this.status = 'authenticated';
		} catch {
			this.#clear();
		}
	}

	async login(username: string, password: string): Promise<void> {
		this.#start(await authApi.login({ username, password }));
	}

	async register(username: string, password: string, displayName?: string): Promise<void> {
		this.#start(await authApi.register({ username, password, displayName: displayName || undefined }));
	}

	async logout(): Promise<void> {
		const refreshToken = refreshTokenStorage.get();
		this.#clear();
		if (refreshToken) await authApi.logout(refreshToken).catch(() => undefined);
	}

	setUser(user: User): void {
		this.user = user;
	}

	/**
	 * Get a new access token. Concurrent callers share one request, and tabs take turns,
	 * because refresh tokens rotate. Resolves false when the session is gone.
	 */
	refresh(): Promise<boolean> {
		this.#refreshing ??= this.#doRefresh().finally(() => {
			this.#refreshing = null;
		});
		return this.#refreshing;
	}

	async #doRefresh(): Promise<boolean> {
		try {
			const pair = await withRefreshLock(async () => {
				// Read inside the lock: another tab may have rotated it a moment ago.
				const refreshToken = refreshTokenStorage.get();
				if (!refreshToken) return null;
				const result = await authApi.refresh(refreshToken);
				refreshTokenStorage.set(result.refreshToken);
				return result;
			});
			if (!pair) {
				if (this.status !== 'loading') this.#clear();
				return false;
			}
			this.#applyTokens(pair);
			return true;
		} catch (error) {
			if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
				this.#clear();
			} else {
				// Network trouble: keep the session and try again shortly.
				this.#schedule(30);
			}
			return false;
		}
	}

	#start(result: AuthResult): void {
		refreshTokenStorage.set(result.refreshToken);
		this.#applyTokens(result);
		this.user = result.user;
		this.status = 'authenticated';
	}

	#applyTokens(pair: TokenPair): void {
		this.#accessToken = pair.accessToken;
		this.#schedule(refreshDelayMs(pair.expiresIn) / 1000);
		for (const listener of this.#tokenListeners) listener(pair.accessToken);
	}

	#schedule(seconds: number): void {
		clearTimeout(this.#refreshTimer);
		this.#refreshTimer = setTimeout(() => void this.refresh(), seconds * 1000);
	}

	#clear(): void {
		clearTimeout(this.#refreshTimer);
		const wasAuthenticated = this.status === 'authenticated';
		refreshTokenStorage.set(null);
		this.#accessToken = null;
		this.user = null;
		this.status = 'anonymous';
		if (wasAuthenticated) for (const listener of this.#endListeners) listener();
	}
}

export const session = new SessionManager();
