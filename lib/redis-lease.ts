import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { overloaded } from "./errors.ts";

/** Gives the lease back; never throws (a lease that cannot be given back runs out by itself). */
export type Release = () => Promise<void>;

/** One holder per key across every node at a time. */
export interface Leases {
	acquire(key: string): Promise<Release>;
	close(): Promise<void>;
}

export interface LeaseOptions {
	/** A holder that dies keeps the key at most this long; a live one renews it every third of it. */
	ttlMs: number;
	/** How long to wait for a held key before refusing with 503 (the client retries). */
	waitMs: number;
}

// KEYS[1] the lease, ARGV[1] the holder's token: only the holder gives it back or renews it.
const RELEASE_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW_LUA = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

type ScriptedRedis = Redis & {
	leaseRelease(key: string, token: string): Promise<number>;
	leaseRenew(key: string, token: string, ttlMs: number): Promise<number>;
};

/**
 * Leases in Redis (`SET NX PX`, given back and renewed only by the token that took them), for changes that
 * must not run on two nodes at once whatever the broker's routing does (nodes joining or leaving move shards).
 * Waiters poll with a doubling, jittered delay up to 50 ms.
 */
export class RedisLeases implements Leases {
	readonly #redis: ScriptedRedis;
	readonly #prefix: string;
	readonly #options: LeaseOptions;

	constructor(url: string, prefix: string, options: LeaseOptions) {
		this.#redis = new Redis(url, { maxRetriesPerRequest: 3 }) as ScriptedRedis;
		this.#redis.defineCommand("leaseRelease", { numberOfKeys: 1, lua: RELEASE_LUA });
		this.#redis.defineCommand("leaseRenew", { numberOfKeys: 1, lua: RENEW_LUA });
		this.#prefix = prefix;
		this.#options = options;
	}

	async acquire(key: string): Promise<Release> {
		const { ttlMs, waitMs } = this.#options;
		const name = this.#prefix + key;
		const token = randomBytes(12).toString("base64url");
		const deadline = Date.now() + waitMs;
		for (let delay = 2; (await this.#redis.set(name, token, "PX", ttlMs, "NX")) !== "OK"; delay = Math.min(delay * 2, 50)) {
			if (Date.now() >= deadline) throw overloaded(250);
			await sleep(delay / 2 + Math.random() * delay);
		}
		const renewal = setInterval(() => void this.#redis.leaseRenew(name, token, ttlMs).catch(() => undefined), Math.max(1, Math.floor(ttlMs / 3)));
		renewal.unref();
		return async () => {
			clearInterval(renewal);
			await this.#redis.leaseRelease(name, token).catch(() => undefined);
		};
	}

	async close(): Promise<void> {
		await this.#redis.quit().catch(() => this.#redis.disconnect());
	}
}
