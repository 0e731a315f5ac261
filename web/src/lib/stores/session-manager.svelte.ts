import { authApi, usersApi } from '#lib/api/client.ts';
import { ApiError } from '#lib/api/errors.ts';
import { setAuthProvider, type AuthProvider } from '#lib/api/http.ts';
import type { AuthResult, TokenPair, User } from '@scalable-chat/contract';
import { backoffDelay, sleep, type BackoffPolicy } from '#lib/retry/backoff.ts';
import { pendingLogouts } from '#lib/session/pending-logouts.ts';
import { refreshDelayMs, refreshTokenStorage, sessionUserStorage, withRefreshLock } from '#lib/session/token-store.ts';

export type SessionStatus = 'loading' | 'anonymous' | 'authenticated';

type TokenListener = (accessToken: string) => void;

/** How a refresh ended: only the server's 401 ends a session; no answer is just an outage. */
type RefreshOutcome = 'renewed' | 'ended' | 'unreachable';

/** Telling the server of a logout it missed: nobody waits for it, so no hurry, but it must get there. */
const LOGOUT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 60_000 };

/** Who is logged in, and the tokens that prove it. */
class SessionManager implements AuthProvider {
	status = $state<SessionStatus>('loading');
	user = $state<User | null>(null);
	/** Why the server ended the last session (an operator signed the user out, the password changed elsewhere), for the sign-in page. */
	endedReason = $state<string | null>(null);

	#accessToken: string | null = null;
	#refreshTimer: ReturnType<typeof setTimeout> | undefined;
	#refreshing: Promise<RefreshOutcome> | null = null;
	/** The profile came from the browser's copy (reloaded during an outage): fetch it once the server answers. */
	#userFromCache = false;
	/** Logouts the server has not heard of yet (pending-logouts.ts): the run telling it, a retry, whether to run again. */
	#revoking: Promise<void> | null = null;
	#revokeAgain = false;
	#revokeTimer: ReturnType<typeof setTimeout> | undefined;
	#revokeAttempt = 0;
	#tokenListeners = new Set<TokenListener>();
	/** This tab's password change (or sign-out of the others) is on its way: the sessions it ends include this tab's own. */
	#restarting = false;
	/** This tab signed out itself: the server's word that the session ended is about this tab's own logout. */
	#loggedOut = false;
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

	/**
	 * Restore the session after a reload from the stored refresh token. While the server cannot be
	 * reached the user stays signed in with the profile saved last time (or, without one, the splash
	 * waits for the server); only the server's refusal of the token signs them out.
	 */
	async init(): Promise<void> {
		if (this.status !== 'loading') return;
		window.addEventListener('online', () => void this.#revokeLoggedOut());
		void this.#revokeLoggedOut();
		for (let attempt = 0; this.status === 'loading'; attempt++) {
			if (!refreshTokenStorage.get()) {
				this.status = 'anonymous';
				return;
			}
			const outcome = await this.#refreshOnce();
			if (outcome === 'ended') {
				this.status = 'anonymous';
				return;
			}
			if (outcome === 'renewed') {
				try {
					this.setUser(await usersApi.profile());
					this.status = 'authenticated';
					return;
				} catch (error) {
					if (error instanceof ApiError && error.status === 401) {
						this.#clear();
						return;
					}
				}
			}
			const saved = sessionUserStorage.get();
			if (saved) {
				this.user = saved;
				this.#userFromCache = true;
				this.status = 'authenticated';
				return;
			}
			await sleep(backoffDelay(attempt));
		}
	}

	async login(username: string, password: string): Promise<void> {
		this.#start(await authApi.login({ username, password }));
	}

	async register(username: string, password: string, displayName?: string): Promise<void> {
		this.#start(await authApi.register({ username, password, displayName: displayName || undefined }));
	}

	/**
	 * The server ended every session of this user: forget the tokens, keep the reason to show. Unless this tab is
	 * changing the password or signing the others out (its answer brings the new session), or another tab of this
	 * browser just did: its new refresh token reaches this tab through localStorage, which other tabs see a moment
	 * after the write, so the refresh is tried a few times before giving up.
	 */
	async revoked(reason: string): Promise<void> {
		if (this.#restarting || this.#loggedOut) return;
		for (const waitMs of [0, 300, 1_000]) {
			await sleep(waitMs);
			if (this.#restarting) return;
			// Ended meanwhile by another refusal (the socket's reconnect refreshes too): the reason still shows.
			if (this.status !== 'authenticated') break;
			if ((await this.#refreshOnce(false)) === 'renewed') return;
		}
		if (this.status === 'authenticated') this.#clear();
		this.endedReason = reason;
	}

	/**
	 * A new password: the server ends every session of this user (other devices sign in again) and answers with a
	 * new one for this tab. Stored under the refresh lock, so the other tabs of this browser pick it up.
	 */
	changePassword(currentPassword: string, newPassword: string): Promise<void> {
		return this.#restart(() => authApi.changePassword({ currentPassword, newPassword }));
	}

	/** Signs every other device and browser out; this browser's tabs go on with the new session of the answer. */
	logoutOthers(): Promise<void> {
		return this.#restart(() => authApi.logoutOthers());
	}

	/** A request that ends every session of this user and answers with a new one for this tab. */
	async #restart(request: () => Promise<AuthResult>): Promise<void> {
		this.#restarting = true;
		try {
			const result = await withRefreshLock(async () => {
				const answer = await request();
				refreshTokenStorage.set(answer.refreshToken);
				return answer;
			});
			this.#start(result);
		} finally {
			this.#restarting = false;
		}
	}

	/** Signs out of this browser at once; the server revokes the session now, or when it can be reached again. */
	async logout(): Promise<void> {
		const refreshToken = refreshTokenStorage.get();
		if (refreshToken) pendingLogouts.add(refreshToken);
		this.#loggedOut = true;
		this.#clear();
		await this.#revokeLoggedOut();
	}

	setUser(user: User): void {
		this.user = user;
		this.#userFromCache = false;
		sessionUserStorage.set(user);
	}

	/**
	 * Get a new access token. Concurrent callers share one request, and tabs take turns,
	 * because refresh tokens rotate. Resolves false when the session is gone.
	 */
	refresh(): Promise<boolean> {
		return this.#refreshOnce().then(outcome => outcome === 'renewed');
	}

	/** `endOnRefusal`: the server's 401 ends the session (else the caller decides). */
	#refreshOnce(endOnRefusal = true): Promise<RefreshOutcome> {
		this.#refreshing ??= this.#doRefresh(endOnRefusal).finally(() => {
			this.#refreshing = null;
		});
		return this.#refreshing;
	}

	async #doRefresh(endOnRefusal: boolean, again = true): Promise<RefreshOutcome> {
		let used: string | null = null;
		try {
			const pair = await withRefreshLock(async () => {
				// Read inside the lock: another tab may have rotated it a moment ago.
				const refreshToken = (used = refreshTokenStorage.get());
				if (!refreshToken) return null;
				const result = await authApi.refresh(refreshToken);
				refreshTokenStorage.set(result.refreshToken);
				return result;
			});
			if (!pair) {
				if (this.status !== 'loading') this.#clear();
				return 'ended';
			}
			this.#applyTokens(pair);
			if (this.#userFromCache)
				usersApi.profile().then(
					user => this.setUser(user),
					() => undefined
				);
			return 'renewed';
		} catch (error) {
			if (error instanceof ApiError && error.status === 401) {
				// Another tab stored a new session meanwhile (its own refresh, a password change): that one counts.
				if (again && refreshTokenStorage.get() !== used) return this.#doRefresh(endOnRefusal, false);
				if (endOnRefusal) this.#clear(used);
				return 'ended';
			}
			// No answer, or a proxy's or a stopping server's 5xx: keep the session and try again shortly.
			this.#schedule(30);
			return 'unreachable';
		}
	}

	/** Tell the server of the logouts it missed; retried with backoff, and at once when the network is back. */
	#revokeLoggedOut(): Promise<void> {
		if (this.#revoking) {
			this.#revokeAgain = true;
			return this.#revoking;
		}
		clearTimeout(this.#revokeTimer);
		this.#revoking = (async () => {
			let left = 0;
			try {
				do {
					this.#revokeAgain = false;
					left = await pendingLogouts.revoke(token => authApi.logout(token));
				} while (this.#revokeAgain);
			} finally {
				this.#revoking = null;
			}
			if (!left) this.#revokeAttempt = 0;
			else
				this.#revokeTimer = setTimeout(
					() => void this.#revokeLoggedOut(),
					backoffDelay(this.#revokeAttempt++, LOGOUT_BACKOFF)
				);
		})();
		return this.#revoking;
	}

	#start(result: AuthResult): void {
		this.endedReason = null;
		this.#loggedOut = false;
		refreshTokenStorage.set(result.refreshToken);
		this.#applyTokens(result);
		this.setUser(result.user);
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

	/** `refused`: the refresh token the server refused; a newer one another tab stored meanwhile stays for it. */
	#clear(refused?: string | null): void {
		clearTimeout(this.#refreshTimer);
		const wasAuthenticated = this.status === 'authenticated';
		if (refused === undefined || refreshTokenStorage.get() === refused) {
			refreshTokenStorage.set(null);
			sessionUserStorage.set(null);
		}
		this.#accessToken = null;
		this.user = null;
		this.status = 'anonymous';
		if (wasAuthenticated) for (const listener of this.#endListeners) listener();
	}
}

export const session = new SessionManager();
