import type { Context } from "moleculer";
import type { MemberRole } from "../contract/groups.ts";
import { unauthorized } from "./errors.ts";

/** What the gateways put in `ctx.meta.user` after resolving an access token; it travels between nodes. */
export interface SessionUser {
	id: string;
	username: string;
}

export interface SessionMeta {
	user?: SessionUser;
}

/** What moleculer-web reads back from a REST call's meta. */
export interface ResponseMeta {
	$statusCode?: number;
	$location?: string;
}

/** Set by the Authenticate middleware on actions declaring `auth: "required"`. */
export interface AuthLocals {
	user: SessionUser;
}

export interface MembershipLocals {
	groupId: string;
	role: MemberRole;
	groupType: "group" | "direct";
}

/** Set by the ConversationAccess middleware on actions declaring `conversation`. */
export interface ConversationLocals<E = unknown> extends AuthLocals {
	membership: MembershipLocals;
	entity?: E;
}

/** The context of an action that declares `auth: "required"`. */
export type UserContext<P = {}> = Context<P, SessionMeta & ResponseMeta, AuthLocals>;

/** The context of an action that declares `auth: "required"` and `conversation`. */
export type MemberContext<P = {}, E = unknown> = Context<P, SessionMeta & ResponseMeta, ConversationLocals<E>>;

/** @deprecated being replaced by `auth: "required"` on the action (Authenticate middleware). */
export function requireUser(ctx: Context<unknown, SessionMeta>): SessionUser {
	const user = ctx.meta.user;
	if (!user?.id) throw unauthorized();
	return user;
}
