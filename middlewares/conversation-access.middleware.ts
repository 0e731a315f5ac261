import type { ActionHandler, ActionSchema, Context, Middleware, Service } from "moleculer";
import type { ConversationPolicy } from "./policies.ts";
import { verifiedUser } from "./authenticate.middleware.ts";
import type { MemberRole } from "../contract/groups.ts";
import { forbidden, notFound } from "../lib/errors.ts";
import type { SessionMeta } from "../lib/session.ts";

type Membership = { role: MemberRole; groupType: "group" | "direct" } | null;
type EntityLoader = (ctx: Context) => Promise<{ groupId: string } | null>;

/**
 * `conversation: { param | entity, roles? }`: loads the caller's membership once (the cached
 * `groups.membership`) into `ctx.locals.membership`. Non-members learn nothing: the same 404 as for a
 * conversation (or entity) that does not exist. A role outside `roles` is 403.
 */
export const ConversationAccess = {
	name: "ConversationAccess",
	localAction(handler: ActionHandler, action: ActionSchema & { service?: Service }) {
		const policy: ConversationPolicy | undefined = action.conversation;
		if (!policy) return handler;
		const missing = () => notFound(policy.notFound ?? "Conversation");
		return async function withMembership(this: unknown, ctx: Context<Record<string, unknown>, SessionMeta>) {
			const userId = verifiedUser(ctx)?.id;
			if (!userId) throw missing();
			let groupId: string;
			if (policy.entity) {
				const load = (action.service as unknown as Record<string, EntityLoader>)[policy.entity];
				const entity = await load.call(action.service, ctx);
				if (!entity) throw missing();
				ctx.locals.entity = entity;
				groupId = entity.groupId;
			} else {
				groupId = ctx.params[policy.param ?? "groupId"] as string;
			}
			const membership = await ctx.call<Membership, object>("groups.membership", { groupId, userId });
			if (!membership) throw missing();
			if (policy.roles && !policy.roles.includes(membership.role)) throw forbidden(policy.forbidden ?? "Your role in this conversation does not allow this");
			ctx.locals.membership = { groupId, role: membership.role, groupType: membership.groupType };
			return handler.call(this as never, ctx);
		};
	}
} as unknown as Middleware;
