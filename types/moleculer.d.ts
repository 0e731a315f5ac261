import type { ConversationPolicy, RateLimitPolicy } from "../middlewares/policies.ts";

/** Policy declared on an action; the middlewares in middlewares/ enforce it for every entry point. */
declare module "moleculer" {
	interface ActionSchema {
		/** "required": the caller must be a signed-in user (`ctx.meta.user`), who is then `ctx.locals.user`. */
		auth?: "required";
		/** The caller must be a member of the conversation (404 otherwise); see ConversationAccess. */
		conversation?: ConversationPolicy;
		/** Costs tokens of the caller's bucket, shared by REST, sockets and Kafka inbound. */
		rateLimit?: RateLimitPolicy;
		/** Only reads: safe to retry after a timeout or a vanished node. */
		readOnly?: boolean;
	}
}
