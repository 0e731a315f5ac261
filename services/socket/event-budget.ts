import type { ClientEventName } from "../../contract/socket.ts";
import { rateLimited } from "../../lib/errors.ts";
import type { RateLimiter } from "../../lib/rate-limiter.ts";
import type { SocketLimitsConfig } from "../../lib/config.ts";

/** A socket's recent refusals: a fixed window starting at its first refusal. */
export interface RejectionWindow {
	since: number;
	count: number;
}

/** Counts one refusal; true when the socket has been refused `floodRejections` times within the window. */
export function recordRejection(
	socket: { rejections?: RejectionWindow },
	now: number,
	limits: Pick<SocketLimitsConfig, "floodRejections" | "floodWindowMs">
): boolean {
	const window = socket.rejections;
	if (!window || now - window.since >= limits.floodWindowMs) socket.rejections = { since: now, count: 1 };
	else window.count++;
	return socket.rejections!.count >= limits.floodRejections;
}

export interface EventBudgetOptions {
	limiter: RateLimiter;
	limits: SocketLimitsConfig;
	/** The shared bucket could not be asked (Redis away): the event goes through, as REST does then. */
	onLimiterError(err: unknown): void;
}

/**
 * Every client event costs tokens of its user's bucket (all of the user's sockets on every gateway
 * share it when Redis is there); expensive reads such as `chat.sync` cost more.
 */
export class EventBudget {
	private readonly options: EventBudgetOptions;

	constructor(options: EventBudgetOptions) {
		this.options = options;
	}

	costOf(event: ClientEventName): number {
		return this.options.limits.eventCosts[event] ?? 1;
	}

	/** Throws RATE_LIMITED (with retryAfterMs) when the user's bucket lacks the event's tokens. */
	async charge(userId: string, event: ClientEventName): Promise<void> {
		let decision;
		try {
			decision = await this.options.limiter.take(`socket:${userId}`, Date.now(), this.costOf(event));
		} catch (err) {
			this.options.onLimiterError(err);
			return;
		}
		if (!decision.allowed) throw rateLimited(decision.retryAfterMs);
	}

	close(): Promise<void> {
		return this.options.limiter.close();
	}
}
