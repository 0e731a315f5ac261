import type { Middleware } from "moleculer";
import { Admission } from "./admission.middleware.ts";
import { Authenticate } from "./authenticate.middleware.ts";
import { ConversationAccess } from "./conversation-access.middleware.ts";
import { RateLimits } from "./rate-limit.middleware.ts";
import { ReadRetries } from "./read-retries.middleware.ts";
import { SealedTransport } from "./sealed-transport.middleware.ts";
import { Timeouts } from "./timeouts.middleware.ts";

/**
 * Every middleware of a node, Moleculer's own included, innermost first (the last one wraps all the
 * others). Ours sit outside the Cacher, so a cached answer is never handed out before the caller is
 * authenticated and found to be a member; validation runs before the membership lookup needs its params.
 * Admission is outermost, so a call it sheds costs nothing else; Timeouts is Moleculer's Timeout, counting instead of logging.
 * Call order: Admission … Retry … Authenticate → RateLimits → Validator → ConversationAccess → Cacher → handler.
 * SealedTransport wraps only the transporter's packets (clustered nodes), whatever its place.
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
		Timeouts(),
		ReadRetries,
		"Retry",
		"Fallback",
		"ErrorHandler",
		"Tracing",
		"Metrics",
		"Debounce",
		"Throttle",
		Admission(),
		SealedTransport()
	];
}
