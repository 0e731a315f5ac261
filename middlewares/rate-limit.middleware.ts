import type { ActionHandler, ActionSchema, Context, Middleware, ServiceBroker } from "moleculer";
import { chatConfig } from "../lib/config.ts";
import { rateLimited } from "../lib/errors.ts";
import { tokenBuckets, type BucketOptions, type RateLimiter } from "../lib/rate-limiter.ts";
import type { SessionMeta } from "../lib/session.ts";
import type { RateLimitPolicy } from "./policies.ts";
import { verifiedUser } from "./authenticate.middleware.ts";

/**
 * `rateLimit: { bucket }`: the action itself takes tokens from the caller's bucket, so every entry point
 * (socket, REST, Kafka inbound) shares it. With Redis the buckets are shared by every node.
 */
export function RateLimits(): Middleware {
	let broker: ServiceBroker;
	const limiters = new Map<RateLimitPolicy["bucket"], RateLimiter>();

	function limiterFor(bucket: RateLimitPolicy["bucket"]): RateLimiter {
		let limiter = limiters.get(bucket);
		if (!limiter) {
			const config = chatConfig(broker);
			const options: BucketOptions =
				bucket === "react"
					? { perSecond: config.reactions.perSecond, burst: config.reactions.burst }
					: bucket === "search"
						? config.search
						: { perSecond: config.rateLimit.sendPerSecond, burst: config.rateLimit.sendBurst };
			limiter = tokenBuckets(config, "rate", options);
			limiters.set(bucket, limiter);
		}
		return limiter;
	}

	return {
		name: "RateLimits",
		created(created: ServiceBroker) {
			broker = created;
		},
		localAction(handler: ActionHandler, action: ActionSchema) {
			const policy = action.rateLimit;
			if (!policy) return handler;
			return async function limited(this: unknown, ctx: Context<unknown, SessionMeta>) {
				const userId = verifiedUser(ctx)?.id;
				if (userId) {
					const decision = await limiterFor(policy.bucket).take(`${policy.bucket}:${userId}`);
					if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
				}
				return handler.call(this as never, ctx);
			};
		},
		async stopped() {
			await Promise.all([...limiters.values()].map(l => l.close()));
			limiters.clear();
		}
	} as unknown as Middleware;
}
