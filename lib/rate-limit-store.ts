import { Redis } from "ioredis";
import type { ServiceBroker } from "moleculer";
import { chatConfig } from "./config.ts";

/** What moleculer-web's rate limiter needs of a store (`StoreFactory`). */
export interface RateLimitStore {
	resetTime: number;
	inc(key: string): Promise<number>;
}

const connections = new WeakMap<ServiceBroker, Redis>();

/** One Redis connection per broker for all routes' stores; closed when the broker stops. */
function connectionFor(broker: ServiceBroker, url: string): Redis {
	let redis = connections.get(broker);
	if (redis) return redis;
	// Without an offline queue a command fails at once while Redis is away, and the store falls back to local counting.
	redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, lazyConnect: false });
	redis.on("error", err => broker.getLogger("rate-limit").debug("Redis:", err.message));
	connections.set(broker, redis);
	const close = () => {
		connections.delete(broker);
		redis!.disconnect();
	};
	broker.localBus.once("$broker.stopped", close);
	return redis;
}

/**
 * Fixed windows aligned to the clock (`window` ms), counted in Redis so that every API node sees the same
 * count for a key: a user (or address) gets `limit` requests per window across the whole cluster.
 * While Redis is unreachable each node counts locally, so an outage loosens the limit instead of failing requests.
 */
export class RedisRateLimitStore implements RateLimitStore {
	resetTime: number;
	private readonly window: number;
	private readonly prefix: string;
	private readonly redis: Redis;
	private readonly local = new Map<string, number>();
	private localWindow = 0;

	constructor(window: number, _opts: unknown, broker: ServiceBroker) {
		const config = chatConfig(broker);
		if (!config.redisUrl) throw new Error("RedisRateLimitStore needs REDIS_URL");
		this.window = window;
		this.prefix = `${config.namespace}:ratelimit:`;
		this.redis = connectionFor(broker, config.redisUrl);
		this.resetTime = this.windowStart() + window;
	}

	private windowStart(now = Date.now()): number {
		return now - (now % this.window);
	}

	async inc(key: string): Promise<number> {
		const start = this.windowStart();
		this.resetTime = start + this.window;
		const redisKey = `${this.prefix}${start}:${key}`;
		try {
			const [[incErr, count], [expireErr]] = (await this.redis
				.multi()
				.incr(redisKey)
				.pexpire(redisKey, this.window + 1000)
				.exec()) as [[Error | null, number], [Error | null, unknown]];
			if (incErr || expireErr) throw incErr ?? expireErr;
			return count;
		} catch {
			return this.incLocal(start, key);
		}
	}

	private incLocal(start: number, key: string): number {
		if (start !== this.localWindow) {
			this.local.clear();
			this.localWindow = start;
		}
		const count = (this.local.get(key) ?? 0) + 1;
		this.local.set(key, count);
		return count;
	}
}
