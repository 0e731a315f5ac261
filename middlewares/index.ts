import type { Middleware } from "moleculer";
import { Authenticate } from "./authenticate.middleware.ts";
import { ConversationAccess } from "./conversation-access.middleware.ts";
import { RateLimits } from "./rate-limit.middleware.ts";
import { ReadRetries } from "./read-retries.middleware.ts";

/**
 * Every middleware of a node, Moleculer's own included, innermost first (the last one wraps all the
 * others). Ours sit outside the Cacher, so a cached answer is never handed out before the caller is
 * authenticated and found to be a member; validation runs before the membership lookup needs its params.
 * Call order: … Retry … Authenticate → RateLimits → Validator → ConversationAccess → Cacher → handler.
 */
export function chatMiddlewares(): (Middleware | string)[] {
	return [
		"ActionHook",
		"Cacher",
		ConversationAccess,
		"Validator",
		RateLimits(),
		Authenticate,
		"Bulkhead",
		"ContextTracker",
		"CircuitBreaker",
		"Timeout",
		ReadRetries,
		"Retry",
		"Fallback",
		"ErrorHandler",
		"Tracing",
		"Metrics",
		"Debounce",
		"Throttle"
	];
}
