import type { AdmissionPolicy, ConversationPolicy, RateLimitPolicy } from "../middlewares/policies.ts";

/** Policy declared on an action; the middlewares in middlewares/ enforce it for every entry point. */
declare module "moleculer" {
	interface ActionSchema {
		/**
		 * "required": the caller must be a signed-in user (`ctx.meta.user`, signed by a gateway with the cluster
		 * secret), who is then `ctx.locals.user`. "operator": the call carries a signed operator pass (`ctx.meta.operator`,
		 * added by the REPL node). See Authenticate.
		 */
		auth?: "required" | "operator";
		/** The caller must be a member of the conversation (404 otherwise); see ConversationAccess. */
		conversation?: ConversationPolicy;
		/** Costs tokens of the caller's bucket, shared by REST, sockets and Kafka inbound. */
		rateLimit?: RateLimitPolicy;
		/** Only reads: safe to retry after a timeout or a vanished node. */
		readOnly?: boolean;
		/** Under overload refused at once (503 SERVICE_OVERLOADED) instead of queued; see Admission. */
		admission?: AdmissionPolicy;
		/** The REST gateway puts the client's address in `ctx.meta.clientAddress` (sign-in limits per address). */
		clientAddress?: boolean;
	}
}
