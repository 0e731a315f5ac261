import type { ActionHandler, ActionSchema, Context, Middleware } from "moleculer";
import { unauthorized } from "../lib/errors.ts";
import type { SessionMeta } from "../lib/session.ts";

/** `auth: "required"`: a signed-in caller (`ctx.meta.user`) or 401. Runs before the cache. */
export const Authenticate = {
	name: "Authenticate",
	localAction(handler: ActionHandler, action: ActionSchema) {
		if (action.auth !== "required") return handler;
		return function authenticated(this: unknown, ctx: Context<unknown, SessionMeta>) {
			if (!ctx.meta.user?.id) return Promise.reject(unauthorized());
			return handler.call(this as never, ctx);
		};
	}
} as unknown as Middleware;
