import { createHmac } from "node:crypto";
import { rateLimited } from "./errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** How many addresses an account remembers as its own (most recent first). */
export const KNOWN_ADDRESSES = 10;

/**
 * Sign-in attempts, limited twice (token buckets, memory or Redis):
 *
 * - per account and address: every attempt costs a token, so one address guesses one account slowly.
 *   An attacker exhausts only their own pair: the owner, elsewhere, is not affected.
 * - per account, only for addresses the account never signed in from: a botnet spreading its guesses over
 *   many addresses shares one slow bucket. The owner's own addresses (remembered on each successful
 *   sign-in, keyed with the server secret) never take from it, so an attack cannot lock the owner out of
 *   a device they used before; from a new address during an attack they wait for the bucket (429 with
 *   Retry-After), which slows them down but never refuses them for good.
 *
 * Unknown usernames are limited the same way, so the limits do not tell which accounts exist.
 */
export class LoginThrottle {
	private readonly byAddress: RateLimiter;
	private readonly byAccount: RateLimiter;
	private readonly secret: string;

	constructor(limiters: { byAddress: RateLimiter; byAccount: RateLimiter }, secret: string) {
		this.byAddress = limiters.byAddress;
		this.byAccount = limiters.byAccount;
		this.secret = secret;
	}

	/** The address as the account remembers it: an HMAC, so stored credentials hold no client addresses. */
	addressKey(address: string): string {
		return createHmac("sha256", this.secret).update(address).digest("base64url").slice(0, 22);
	}

	/** Before the password is checked; rejects with 429 when this attempt is over a limit. */
	async admit(account: string, addressKey: string, known: boolean, now = Date.now()): Promise<void> {
		const pair = await this.byAddress.take(`login:${account}|${addressKey}`, now);
		if (!pair.allowed) throw rateLimited(pair.retryAfterMs);
		if (known) return;
		const overall = await this.byAccount.take(`login:${account}`, now);
		if (!overall.allowed) throw rateLimited(overall.retryAfterMs);
	}

	async close(): Promise<void> {
		await Promise.all([this.byAddress.close(), this.byAccount.close()]);
	}
}

/** The account's remembered addresses after a successful sign-in from `key`. */
export function rememberAddress(known: readonly string[] | undefined, key: string): string[] {
	return [key, ...(known ?? []).filter(k => k !== key)].slice(0, KNOWN_ADDRESSES);
}
