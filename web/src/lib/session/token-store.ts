const REFRESH_TOKEN_KEY = 'chat.refreshToken';

/** The refresh token outlives reloads (localStorage); the access token lives only in memory. */
export const refreshTokenStorage = {
	get(): string | null {
		try {
			return localStorage.getItem(REFRESH_TOKEN_KEY);
		} catch {
			return null;
		}
	},
	set(token: string | null): void {
		try {
			if (token) localStorage.setItem(REFRESH_TOKEN_KEY, token);
			else localStorage.removeItem(REFRESH_TOKEN_KEY);
		} catch {
			// Private mode or storage disabled: the session just won't survive a reload.
		}
	}
};

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
