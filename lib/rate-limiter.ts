import { Redis } from "ioredis";

export interface RateDecision {
	allowed: boolean;
	/** When the next token arrives (0 when allowed). */
	retryAfterMs: number;
}

/** A token bucket per key: `burst` tokens at most, refilled at `perSecond`; a request costs `cost` tokens (default 1). */
export interface RateLimiter {
	take(key: string, now?: number, cost?: number): Promise<RateDecision>;
	close(): Promise<void>;
}

export interface BucketOptions {
	perSecond: number;
	burst: number;
}

function refill(tokens: number, updatedAt: number, now: number, { perSecond, burst }: BucketOptions): number {
	return Math.min(burst, tokens + (Math.max(0, now - updatedAt) * perSecond) / 1000);
}

const retryAfter = (tokens: number, perSecond: number, cost: number) => Math.ceil(((cost - tokens) * 1000) / perSecond);

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

/** Per process; buckets of idle keys are dropped once they would be full again. */
export class MemoryRateLimiter implements RateLimiter {
	private buckets = new Map<string, { tokens: number; updatedAt: number }>();
	private options: BucketOptions;
	private lastPrune = 0;

	constructor(options: BucketOptions) {
		this.options = options;
	}

	async take(key: string, now = Date.now(), cost = 1): Promise<RateDecision> {
		this.prune(now);
		let bucket = this.buckets.get(key);
		const tokens = bucket ? refill(bucket.tokens, bucket.updatedAt, now, this.options) : this.options.burst;
		if (!bucket) this.buckets.set(key, (bucket = { tokens, updatedAt: now }));
		bucket.updatedAt = now;
		if (tokens < cost) {
			bucket.tokens = tokens;
			return { allowed: false, retryAfterMs: retryAfter(tokens, this.options.perSecond, cost) };
		}
		bucket.tokens = tokens - cost;
		return ALLOWED;
	}

	async close(): Promise<void> {
		this.buckets.clear();
	}

	private prune(now: number) {
		const fullAfterMs = (this.options.burst / this.options.perSecond) * 1000;
		if (now - this.lastPrune < fullAfterMs) return;
		this.lastPrune = now;
		for (const [key, b] of this.buckets) if (now - b.updatedAt >= fullAfterMs) this.buckets.delete(key);
	}
}

// KEYS[1] bucket; ARGV: perSecond, burst, now, ttlMs, cost → {allowed 0|1, tokens * 1000}
const TAKE_LUA = `
local perSecond, burst, now, ttl, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updatedAt')
local tokens, updatedAt = tonumber(state[1]), tonumber(state[2])
if not tokens then tokens = burst; updatedAt = now end
tokens = math.min(burst, tokens + math.max(0, now - updatedAt) * perSecond / 1000)
local allowed = 0
if tokens >= cost then tokens = tokens - cost; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updatedAt', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, math.floor(tokens * 1000)}`;

/** Shared by every gateway node (REDIS_URL), so a user's limit holds wherever their sockets are. */
export class RedisRateLimiter implements RateLimiter {
	private redis: Redis & { rateTake(key: string, ...args: number[]): Promise<[number, number]> };
	private options: BucketOptions;
	private prefix: string;

	constructor(url: string, prefix: string, options: BucketOptions) {
		this.options = options;
		this.prefix = prefix;
		this.redis = new Redis(url, { maxRetriesPerRequest: 3 }) as RedisRateLimiter["redis"];
		this.redis.defineCommand("rateTake", { numberOfKeys: 1, lua: TAKE_LUA });
	}

	async take(key: string, now = Date.now(), cost = 1): Promise<RateDecision> {
		const { perSecond, burst } = this.options;
		const ttlMs = Math.ceil((burst / perSecond) * 1000) + 1000;
		const [allowed, milliTokens] = await this.redis.rateTake(this.prefix + key, perSecond, burst, now, ttlMs, cost);
		return allowed === 1 ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs: retryAfter(milliTokens / 1000, perSecond, cost) };
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => this.redis.disconnect());
	}
}

/**
 * Token buckets under `${namespace}:${purpose}:` keys: in Redis (shared by every node) when the node has one,
 * else in this process.
 */
export function tokenBuckets(config: { redisUrl: string | undefined; namespace: string }, purpose: string, options: BucketOptions): RateLimiter {
	return config.redisUrl ? new RedisRateLimiter(config.redisUrl, `${config.namespace}:${purpose}:`, options) : new MemoryRateLimiter(options);
}
