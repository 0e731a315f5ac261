import type { Context } from "moleculer";
import { unauthorized } from "./errors.ts";

/** What the gateways put in `ctx.meta.user` after resolving an access token; it travels between nodes. */
export interface SessionUser {
	id: string;
	username: string;
}

export interface SessionMeta {
	user?: SessionUser;
}

export function requireUser(ctx: Context<unknown, SessionMeta>): SessionUser {
	const user = ctx.meta.user;
	if (!user?.id) throw unauthorized();
	return user;
}
