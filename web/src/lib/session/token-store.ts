import type { User } from '@scalable-chat/contract';

const REFRESH_TOKEN_KEY = 'chat.refreshToken';

/**
 * One string in localStorage; null when absent. Private mode or storage disabled: reads give null and writes
 * are lost (the session just won't survive a reload, other tabs just show no reason).
 */
function storedString(key: string) {
	return {
		get(): string | null {
			try {
				return localStorage.getItem(key);
			} catch {
				return null;
			}
		},
		set(value: string | null): void {
			try {
				if (value) localStorage.setItem(key, value);
				else localStorage.removeItem(key);
			} catch {
				// Storage disabled: the value is lost.
			}
		}
	};
}

/** The refresh token outlives reloads (localStorage); the access token lives only in memory. */
export const refreshTokenStorage = storedString(REFRESH_TOKEN_KEY);

const USER_KEY = 'chat.user';

/**
 * The signed-in user's profile, kept so that a page reloaded while the server is unreachable still
 * knows who is signed in (and shows their drafts and unsent messages) instead of asking them to log in.
 */
export const sessionUserStorage = {
	get(): User | null {
		try {
			const saved = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null') as User | null;
			return saved && typeof saved.id === 'string' ? saved : null;
		} catch {
			return null;
		}
	},
	set(user: User | null): void {
		try {
			if (user) localStorage.setItem(USER_KEY, JSON.stringify(user));
			else localStorage.removeItem(USER_KEY);
		} catch {
			// As above: only the offline reload loses it.
		}
	}
};

const ENDED_KEY = 'chat.sessionEnded';

/**
 * Why the sign-in stored here ended, written by the tab that ends it just before it removes it: the other tabs
 * hear of the removal through a storage event, often with their socket already gone, and say the same.
 */
export const sessionEndStorage = storedString(ENDED_KEY);

/** The keys that say who is signed in here (another tab's change to them is a sign-out or another sign-in). */
export function isSessionKey(key: string | null): boolean {
	return key === null || key === REFRESH_TOKEN_KEY || key === USER_KEY;
}

/**
 * Run `task` while holding a lock shared by all tabs, so that two tabs never rotate the same
 * refresh token at once (reusing a rotated token revokes the whole session).
 */
export async function withRefreshLock<T>(task: () => Promise<T>): Promise<T> {
	const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
	if (!locks) return task();
	return locks.request('chat.refresh', task) as Promise<T>;
}

/** Refresh a little before the access token expires, but never in a tight loop. */
export function refreshDelayMs(expiresInSeconds: number): number {
	const lead = Math.min(60, expiresInSeconds * 0.2);
	return Math.max(5, expiresInSeconds - lead) * 1000;
}
