export interface BackoffPolicy {
	/** The first window (attempt 0). */
	baseMs: number;
	/** The window never grows past this. */
	maxMs: number;
}

/** Reconnecting, refreshing a session, resending: quick at first, then every 5–10 s, forever. */
export const RECONNECT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 10_000 };

/**
 * How long to wait before attempt `attempt` (0 = the first retry): an exponentially growing window,
 * half of it fixed and half random ("equal jitter"), so that every client of a restarted server does
 * not come back in the same instant, and none waits for nothing.
 */
export function backoffDelay(
	attempt: number,
	policy: BackoffPolicy = RECONNECT_BACKOFF,
	random: () => number = Math.random
): number {
	const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
	const window = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
	return Math.round(window / 2 + (random() * window) / 2);
}

export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
