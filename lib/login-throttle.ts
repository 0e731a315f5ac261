import { createHmac } from "node:crypto";
import { rateLimited } from "./errors.ts";
import type { RateLimiter } from "./rate-limiter.ts";

/** How many addresses an account remembers as its own (most recent first). */
export const KNOWN_ADDRESSES = 10;

/**
 * Sign-in attempts, limited three times (token buckets, memory or Redis):
 *
 * - per account and address: every attempt costs a token, so one address guesses one account slowly.
 *   An attacker exhausts only their own pair: the owner, elsewhere, is not affected.
 * - per account, only for addresses the account never signed in from: a botnet spreading its guesses over
 *   many addresses shares one slow bucket. The owner's own addresses (remembered on each successful
 *   sign-in, keyed with the server secret) never take from it, so an attack cannot lock the owner out of
 *   a device they used before; from a new address during an attack they wait for the bucket (429 with
 *   Retry-After), which slows them down but never refuses them for good.
 * - per address, over every account that never signed in from it: one address trying one password on
 *   many accounts (spraying, credential stuffing) shares one slow bucket, refused before bcrypt runs.
 *   People behind one shared address (an office, a NAT) who signed in from it before never take from it.
 *
 * Unknown usernames are limited the same way, so the limits do not tell which accounts exist.
 */
export class LoginThrottle {
	private readonly byAddress: RateLimiter;
	private readonly byAccount: RateLimiter;
	private readonly byAddressNewAccounts: RateLimiter;
	private readonly secret: string;

	constructor(limiters: { byAddress: RateLimiter; byAccount: RateLimiter; byAddressNewAccounts: RateLimiter }, secret: string) {
		this.byAddress = limiters.byAddress;
		this.byAccount = limiters.byAccount;
		this.byAddressNewAccounts = limiters.byAddressNewAccounts;
		this.secret = secret;
	}

	/** The address as the account remembers it: an HMAC, so stored credentials hold no client addresses. */
	addressKey(address: string): string {
		return createHmac("sha256", this.secret).update(address).digest("base64url").slice(0, 22);
	}

	/**
	 * An attempt at `account` from a client address (`undefined`: an internal caller), checked against the account's
	 * remembered addresses; answers the address's key, to remember once the password is right.
	 */
	async admitFrom(account: string, clientAddress: string | undefined, knownAddresses: readonly string[] | undefined): Promise<string> {
		const key = this.addressKey(clientAddress ?? "internal");
		await this.admit(account, key, knownAddresses?.includes(key) ?? false);
		return key;
	}

	/** Before the password is checked; rejects with 429 when this attempt is over a limit. */
	async admit(account: string, addressKey: string, known: boolean, now = Date.now()): Promise<void> {
		const pair = await this.byAddress.take(`login:${account}|${addressKey}`, now);
		if (!pair.allowed) throw rateLimited(pair.retryAfterMs);
		if (known) return;
		const address = await this.byAddressNewAccounts.take(`login-address:${addressKey}`, now);
		if (!address.allowed) throw rateLimited(address.retryAfterMs);
		const overall = await this.byAccount.take(`login:${account}`, now);
		if (!overall.allowed) throw rateLimited(overall.retryAfterMs);
	}

	async close(): Promise<void> {
		await Promise.all([this.byAddress.close(), this.byAccount.close(), this.byAddressNewAccounts.close()]);
	}
}

/** The account's remembered addresses after a successful sign-in from `key`. */
export function rememberAddress(known: readonly string[] | undefined, key: string): string[] {
	return [key, ...(known ?? []).filter(k => k !== key)].slice(0, KNOWN_ADDRESSES);
}
