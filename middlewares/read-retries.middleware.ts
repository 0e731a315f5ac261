import type { ActionSchema, Middleware } from "moleculer";

/**
 * `readOnly: true` turns retries on for that action (on the calling node too: the flag travels with the
 * action's registration). Everything else is called once; a caller that must retry a write does it with an
 * idempotency key (messages.send with clientMessageId). Listed before Moleculer's Retry, which reads
 * `action.retryPolicy` when it wraps the action.
 */
function retryReads(handler: unknown, action: ActionSchema) {
	if (action.readOnly) action.retryPolicy = { enabled: true, ...action.retryPolicy };
	return handler;
}

export const ReadRetries = { name: "ReadRetries", localAction: retryReads, remoteAction: retryReads } as unknown as Middleware;
