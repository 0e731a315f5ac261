import type { ActionHandler, ActionSchema, Context, Middleware, ServiceBroker } from "moleculer";
import { callerSigner } from "../lib/cluster-trust.ts";
import { unauthorized } from "../lib/errors.ts";
import type { SessionMeta, SessionUser } from "../lib/session.ts";

type TrustMeta = SessionMeta & { operator?: unknown };

/**
 * `auth: "required"`: a caller signed by a gateway (`ctx.meta.user` with `exp` and `sig`, lib/cluster-trust.ts)
 * or 401; `auth: "operator"`: a signed operator pass (`ctx.meta.operator`) or 401. Runs before the cache.
 * Actions declaring `conversation` or `rateLimit` get the verified caller too, so those middlewares never
 * act on a user someone merely wrote into the meta: they read `verifiedUser(ctx)`.
 */
export const Authenticate = {
	name: "Authenticate",
	// Moleculer calls the hook with the broker as `this`.
	localAction(this: ServiceBroker, handler: ActionHandler, action: ActionSchema) {
		const signer = () => callerSigner(this);
		if (action.auth === "operator") {
			return function operator(this: unknown, ctx: Context<unknown, TrustMeta>) {
				if (!signer().verifyOperator(ctx.meta.operator))
					return Promise.reject(unauthorized("Operator actions need an operator pass signed with the cluster secret (the REPL node)", "OPERATOR_REQUIRED"));
				return handler.call(this as never, ctx);
			};
		}
		if (action.auth !== "required" && !action.conversation && !action.rateLimit) return handler;
		const required = action.auth === "required";
		return function authenticated(this: unknown, ctx: Context<unknown, TrustMeta>) {
			const check = signer().verifyUser(ctx.meta.user);
			if (check.ok) ctx.locals.user = check.user;
			else if (required) {
				if (check.reason === "expired") return Promise.reject(unauthorized("The session has expired", "TOKEN_EXPIRED"));
				return Promise.reject(check.reason === "missing" ? unauthorized() : unauthorized("The caller is not signed by this cluster"));
			}
			return handler.call(this as never, ctx);
		};
	}
} as unknown as Middleware;

/** The caller Authenticate verified for this call, if any. */
export function verifiedUser(ctx: Context<unknown, object>): SessionUser | undefined {
	return (ctx.locals as { user?: SessionUser }).user;
}
