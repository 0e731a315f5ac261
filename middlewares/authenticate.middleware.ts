import type { ActionHandler, ActionSchema, Context, Middleware } from "moleculer";
import { unauthorized } from "../lib/errors.ts";
import type { SessionMeta } from "../lib/session.ts";

/** `auth: "required"`: a signed-in caller or 401; the user becomes `ctx.locals.user`. Runs before the cache. */
export const Authenticate = {
	name: "Authenticate",
	localAction(handler: ActionHandler, action: ActionSchema) {
		if (action.auth !== "required") return handler;
		return function authenticated(this: unknown, ctx: Context<unknown, SessionMeta>) {
			const user = ctx.meta.user;
			if (!user?.id) return Promise.reject(unauthorized());
			ctx.locals.user = user;
			return handler.call(this as never, ctx);
		};
	}
} as unknown as Middleware;
