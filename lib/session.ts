import type { Context } from "moleculer";
import type { MemberRole } from "../contract/groups.ts";

/** What the gateways put in `ctx.meta.user` after resolving an access token; it travels between nodes. */
export interface SessionUser {
	id: string;
	username: string;
	/** The sign-in (refresh token family) the access token was issued to, signed along (lib/cluster-trust.ts); absent for bots. */
	sessionId?: string;
}

/** One sign-in ended (`auth.session.ended`): auth nodes refuse its access tokens, gateways close its sockets with the reason. */
export interface SessionEnded {
	userId: string;
	/** The sign-in (its refresh token family). */
	sessionId: string;
	at: number;
	reason: string;
}

export interface SessionMeta {
	user?: SessionUser;
}

/** What moleculer-web reads back from a REST call's meta. */
export interface ResponseMeta {
	$statusCode?: number;
	$location?: string;
}

export interface MembershipLocals {
	groupId: string;
	role: MemberRole;
	groupType: "group" | "direct";
}

/**
 * The context of an action that declares `auth: "required"`: the Authenticate middleware has made sure
 * `ctx.meta.user` is there. (Moleculer types every handler's context as `Context<any, any>`, so what the
 * middlewares add is typed through meta and the accessors below, not through `ctx.locals`' type.)
 */
export type UserContext<P = {}> = Context<P, SessionMeta & ResponseMeta & { user: SessionUser }>;

/** Same, for actions that also declare `conversation`: read the membership with `membershipOf(ctx)`. */
export type MemberContext<P = {}> = UserContext<P>;

/** The caller's membership, loaded once by ConversationAccess for actions that declare `conversation`. */
export function membershipOf(ctx: Context<unknown, object>): MembershipLocals {
	return (ctx.locals as { membership: MembershipLocals }).membership;
}

/** The entity a `conversation: { entity }` loader found (a message, say). */
export function entityOf<E>(ctx: Context<unknown, object>): E {
	return (ctx.locals as { entity: E }).entity;
}
