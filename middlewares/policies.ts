import type { MemberRole } from "../contract/groups.ts";

/** Shapes of the policies actions declare (types/moleculer.d.ts adds them to ActionSchema). */

export interface ConversationPolicy {
	/** The param naming the conversation. */
	param?: string;
	/**
	 * Instead of a param, a service method `(ctx) => Promise<{ groupId } | null>` that loads the entity the
	 * action is about (a message, say); it lands in `ctx.locals.entity`.
	 */
	entity?: string;
	/** What a non-member (or a missing entity) is told is not found; default "Conversation". */
	notFound?: string;
	/** Roles allowed to call; others get 403 with `forbidden`. */
	roles?: MemberRole[];
	forbidden?: string;
}

export interface RateLimitPolicy {
	/** "send": messages (sends and edits); "react": reaction toggles, a bucket of their own so that reacting never eats into sending; "search": full-text searches. */
	bucket: "send" | "react" | "search";
	cost?: number;
}

export interface AdmissionPolicy {
	/** Calls of the actions sharing a pool are bounded together, per node (see Admission). */
	pool: "send";
}
