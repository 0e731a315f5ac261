import { authApi, usersApi } from '#lib/api/client.ts';
import { ApiError } from '#lib/api/errors.ts';
import { setAuthProvider, type AuthProvider } from '#lib/api/http.ts';
import type { AuthResult, TokenPair, User } from '@scalable-chat/contract';
import { backoffDelay, sleep, type BackoffPolicy } from '#lib/retry/backoff.ts';
import { forgetUser } from '#lib/session/forget-user.ts';
import { pendingLogouts } from '#lib/session/pending-logouts.ts';
import {
	isSessionKey,
	refreshDelayMs,
	refreshTokenStorage,
	sessionEndStorage,
	sessionUserStorage,
	withRefreshLock
} from '#lib/session/token-store.ts';

export type SessionStatus = 'loading' | 'anonymous' | 'authenticated';

type TokenListener = (accessToken: string) => void;

/**
 * How a refresh ended: only the server's 401 ends a session; no answer is just an outage. `superseded`: the
 * sign-in it was for ended or was replaced while the answer was on its way, so the answer was dropped.
 */
type RefreshOutcome = 'renewed' | 'ended' | 'unreachable' | 'superseded';

/** Telling the server of a logout it missed: nobody waits for it, so no hurry, but it must get there. */
const LOGOUT_BACKOFF: BackoffPolicy = { baseMs: 2_000, maxMs: 60_000 };

const SIGNED_IN_ELSEWHERE = 'Someone else signed in on this browser.';
/** What the server says to the sockets of a sign-in that logged out, for the tabs that hear of it first from storage. */
const SIGNED_OUT_IN_OTHER_TAB = 'You signed out in another tab.';

/** When to try a refresh again after one got no answer: the 1st, 2nd, … time in a row. */
const UNREACHABLE_RETRY_SECONDS = [2, 5, 10, 20, 30];

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
	#epoch = 0;
	/** Refreshes in a row that got no answer. */
	#unreachable = 0;

	constructor() {
		setAuthProvider(this);
	}

	get userId(): string {
		return this.user?.id ?? '';
	}

	/** Changes whenever a sign-in of this tab ends or starts: an answer asked for under another one is not for this one. */
	get epoch(): number {
		return this.#epoch;
	}

	accessToken(): string | null {
		return this.#accessToken;
	}

	/** Called with every new access token (the realtime module forwards it to the socket). */
	onAccessToken(listener: TokenListener): () => void {
		this.#tokenListeners.add(listener);
		return () => this.#tokenListeners.delete(listener);
	}

	/**
	 * Called when the session ends (logout or revoked); not when another tab's sign-in took its place (that tab
	 * owns what the browser holds now).
	 */
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
		window.addEventListener('storage', event => this.#storageChanged(event.key));
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
			// Another tab signed out or in meanwhile: start over from what it stored.
			if (outcome === 'superseded') continue;
			if (outcome === 'renewed') {
				try {
					this.#adopt(await usersApi.profile());
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
		this.#signIn(await authApi.login({ username, password }));
	}

	async register(username: string, password: string, displayName?: string): Promise<void> {
		this.#signIn(await authApi.register({ username, password, displayName: displayName || undefined }));
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
		if (this.status === 'authenticated') {
			const mine = this.#storedIsMine();
			if (mine) sessionEndStorage.set(reason);
			this.#clear(!mine);
		}
		this.endedReason = reason;
	}

	/**
	 * A new password: the server ends every session of this user (other devices sign in again) and answers with a
	 * new one for this tab. Stored under the refresh lock, so the other tabs of this browser pick it up.
	 */
	changePassword(currentPassword: string, newPassword: string): Promise<void> {
		return this.#restart(refreshOn401 => authApi.changePassword({ currentPassword, newPassword }, refreshOn401));
	}

	/** Signs every other device and browser out; this browser's tabs go on with the new session of the answer. */
	logoutOthers(): Promise<void> {
		return this.#restart(refreshOn401 => authApi.logoutOthers(refreshOn401));
	}

	/** A request that ends every session of this user and answers with a new one for this tab. */
	async #restart(request: (refreshOn401: boolean) => Promise<AuthResult>): Promise<void> {
		this.#restarting = true;
		try {
			for (let attempt = 0; ; attempt++) {
				try {
					// Started under the lock: a refresh waiting for it reads the new token, in the new session. A 401
					// (the access token expired meanwhile) cannot refresh under the lock it holds: it does so after.
					await withRefreshLock(async () => this.#start(await request(false)));
					return;
				} catch (error) {
					if (attempt > 0 || !(error instanceof ApiError && error.status === 401) || !(await this.refresh()))
						throw error;
				}
			}
		} finally {
			this.#restarting = false;
		}
	}

	/** Signs out of this browser at once; the server revokes the session now, or when it can be reached again. */
	async logout(): Promise<void> {
		// What is stored may be another user's sign-in by now (this tab missed the change): that one stays.
		const mine = this.#storedIsMine();
		const refreshToken = refreshTokenStorage.get();
		if (mine && refreshToken) pendingLogouts.add(refreshToken);
		if (mine) sessionEndStorage.set(SIGNED_OUT_IN_OTHER_TAB);
		this.#loggedOut = true;
		this.#clear(!mine);
		await this.#revokeLoggedOut();
	}

	/** A newer profile of this tab's user; the browser's copy follows only while it is theirs. */
	setUser(user: User): void {
		this.user = user;
		this.#userFromCache = false;
		if (sessionUserStorage.get()?.id === user.id) sessionUserStorage.set(user);
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
		if (!this.#refreshing) {
			const refreshing = this.#doRefresh(endOnRefusal).finally(() => {
				if (this.#refreshing === refreshing) this.#refreshing = null;
			});
			this.#refreshing = refreshing;
		}
		return this.#refreshing;
	}

	async #doRefresh(endOnRefusal: boolean, again = true): Promise<RefreshOutcome> {
		let used: string | null = null;
		let epoch = this.#epoch;
		try {
			const outcome = await withRefreshLock(async (): Promise<RefreshOutcome> => {
				// Read inside the lock: another tab may have rotated it a moment ago.
				epoch = this.#epoch;
				const refreshToken = (used = refreshTokenStorage.get());
				if (!refreshToken) {
					// Another tab signed out; what it left is its own.
					if (this.status === 'authenticated') this.#clear(true);
					return 'ended';
				}
				// A token is its user's: one of another user (signed in by another tab) ends this tab's session.
				if (this.user && !this.#storedIsMine()) {
					this.#endForOther();
					return 'ended';
				}
				const pair = await authApi.refresh(refreshToken);
				if (this.#epoch !== epoch || refreshTokenStorage.get() !== refreshToken) {
					// Signed out, or in anew, while the answer was on its way: its new token is a live one of
					// a sign-in that is over, so it goes the way of a logout.
					pendingLogouts.add(pair.refreshToken);
					void this.#revokeLoggedOut();
					return 'superseded';
				}
				refreshTokenStorage.set(pair.refreshToken);
				this.#applyTokens(pair);
				return 'renewed';
			});
			// Another tab's sign-in replaced the one refreshed: if it is this user's, this tab goes on with it.
			if (outcome === 'superseded' && again && this.#epoch === epoch) return this.#doRefresh(endOnRefusal, false);
			if (outcome === 'renewed' && this.#userFromCache)
				usersApi.profile().then(
					user => this.#epoch === epoch && this.setUser(user),
					() => undefined
				);
			return outcome;
		} catch (error) {
			// The sign-in it was for is over: its refusal or outage is not this session's.
			if (this.#epoch !== epoch) return 'superseded';
			if (error instanceof ApiError && error.status === 401) {
				// Another tab stored a new session meanwhile (its own refresh, a password change): that one counts.
				if (again && refreshTokenStorage.get() !== used) return this.#doRefresh(endOnRefusal, false);
				if (endOnRefusal) this.#clear(refreshTokenStorage.get() !== used);
				return 'ended';
			}
			// No answer, or a proxy's or a stopping server's 5xx: keep the session and try again shortly.
			// Soon at first: a refresh whose answer was lost is only taken for a retry within REFRESH_TOKEN_RETRY_WINDOW.
			this.#schedule(UNREACHABLE_RETRY_SECONDS[Math.min(this.#unreachable++, UNREACHABLE_RETRY_SECONDS.length - 1)]);
			return 'unreachable';
		}
	}

	/** Whether the sign-in stored in this browser is this tab's user's (another tab may have ended it, or signed in someone else). */
	#storedIsMine(): boolean {
		return Boolean(this.user && refreshTokenStorage.get() && sessionUserStorage.get()?.id === this.user.id);
	}

	/** Another tab signed out, or in as someone else: this tab's session is over, and what is stored is the other tab's. */
	#storageChanged(key: string | null): void {
		if (!isSessionKey(key) || this.status !== 'authenticated' || this.#storedIsMine()) return;
		if (refreshTokenStorage.get()) this.#endForOther();
		else {
			this.#clear(true);
			this.endedReason = sessionEndStorage.get();
		}
	}

	#endForOther(): void {
		this.#clear(true);
		this.endedReason = SIGNED_IN_ELSEWHERE;
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

	#signIn(result: AuthResult): void {
		// A sign-in still stored here (another tab's, which this one replaces) is over: the server hears of it.
		const replaced = refreshTokenStorage.get();
		if (replaced && replaced !== result.refreshToken) pendingLogouts.add(replaced);
		this.#start(result);
		// The server just answered: a logout it missed goes out now rather than at the next retry.
		void this.#revokeLoggedOut();
	}

	#start(result: AuthResult): void {
		this.#epoch++;
		this.endedReason = null;
		sessionEndStorage.set(null);
		this.#loggedOut = false;
		// Whose it is before the token: another tab that reads the new token knows it is not its user's.
		this.#adopt(result.user);
		refreshTokenStorage.set(result.refreshToken);
		this.#applyTokens(result);
		this.status = 'authenticated';
	}

	#adopt(user: User): void {
		this.user = user;
		this.#userFromCache = false;
		sessionUserStorage.set(user);
	}

	#applyTokens(pair: TokenPair): void {
		this.#unreachable = 0;
		this.#accessToken = pair.accessToken;
		this.#schedule(refreshDelayMs(pair.expiresIn) / 1000);
		for (const listener of this.#tokenListeners) listener(pair.accessToken);
	}

	#schedule(seconds: number): void {
		clearTimeout(this.#refreshTimer);
		this.#refreshTimer = setTimeout(() => void this.refresh(), seconds * 1000);
	}

	/**
	 * End this tab's session. `keep`: what is stored is another sign-in's (a newer one another tab stored, or
	 * another user's), so it stays, and so does what the browser holds for it (the end listeners do not run).
	 * The user's drafts, offline copy and unsent messages go with the session, here rather than in a listener,
	 * so that an end before any page is up (a refused reload) takes them too.
	 */
	#clear(keep = false): void {
		this.#epoch++;
		this.#refreshing = null;
		clearTimeout(this.#refreshTimer);
		const wasAuthenticated = this.status === 'authenticated';
		// Read before it goes: after a refused reload the stored profile is all that says whose data it is.
		const userId = this.user?.id ?? (keep ? undefined : sessionUserStorage.get()?.id);
		if (!keep) {
			refreshTokenStorage.set(null);
			sessionUserStorage.set(null);
		}
		this.#accessToken = null;
		this.user = null;
		this.#userFromCache = false;
		this.status = 'anonymous';
		if (wasAuthenticated && !keep) for (const listener of this.#endListeners) listener();
		// Unless the user is still signed in here (a newer sign-in of theirs, in another tab).
		const stillHere = refreshTokenStorage.get() && sessionUserStorage.get()?.id === userId;
		if (userId && !stillHere) forgetUser(userId);
	}
}

export const session = new SessionManager();
