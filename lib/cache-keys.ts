import type { ActionCacheOptions, ActionSchema, Context } from "moleculer";

/**
 * Cache options whose keys are `<action>:<param>|<param>`, so writers can clean exactly the
 * entries they invalidate (`cacheKey(...)`, or a `*` pattern) without knowing Moleculer's key format.
 */
export function cachedBy(...fields: string[]): ActionCacheOptions {
	return {
		keygen: (action: ActionSchema, _opts: unknown, ctx: Context<any>) => `${action.name}:${fields.map(f => String(ctx.params?.[f] ?? "")).join("|")}`
	};
}

export function cacheKey(action: string, ...values: string[]): string {
	return `${action}:${values.join("|")}`;
}
