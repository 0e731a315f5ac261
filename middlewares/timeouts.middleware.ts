import { Stream } from "node:stream";
import { Errors, METRIC, type ActionHandler, type ActionSchema, type Context, type Middleware, type ServiceBroker } from "moleculer";
import { rejectionTally, type RejectionTally } from "../lib/overload.ts";

const EXPIRED = Symbol("expired");

/**
 * Moleculer's Timeout middleware (request timeout, RequestTimeoutError, the timeout metric, a stream's
 * transfer told to stop), except that a timeout is counted in the node's rejection tally rather than logged
 * one line each: when a node is overloaded thousands time out together, and the log should say how many.
 */
export function Timeouts(): Middleware {
	let broker: ServiceBroker;
	let tally: RejectionTally;

	function wrap(handler: ActionHandler, action: ActionSchema) {
		const actionTimeout = (action as { timeout?: number }).timeout;
		const name = action.name!;
		const service = (action.service as { fullName?: string } | undefined)?.fullName ?? null;
		return function timed(this: unknown, ctx: Context & { startHrTime?: [number, number] }) {
			const options = ctx.options as { timeout?: number };
			if (options.timeout == null) options.timeout = actionTimeout ?? broker.options.requestTimeout;
			const timeout = options.timeout ?? 0;
			if (timeout > 0 && !ctx.startHrTime) ctx.startHrTime = process.hrtime();
			const result = handler.call(this as never, ctx) as Promise<unknown>;
			if (!(timeout > 0)) return result;
			let timer!: NodeJS.Timeout;
			const expiry = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(EXPIRED), timeout)));
			return Promise.race([result, expiry]).then(
				value => {
					clearTimeout(timer);
					return value;
				},
				err => {
					clearTimeout(timer);
					if (err !== EXPIRED) throw err;
					tally.count(name, "timed out");
					if (ctx.params instanceof Stream) ctx.params.emit("moleculer-timeout-middleware", timeout);
					broker.metrics.increment(METRIC.MOLECULER_REQUEST_TIMEOUT_TOTAL, { service, action: name });
					throw new Errors.RequestTimeoutError({ action: name, nodeID: ctx.nodeID });
				}
			);
		};
	}

	return {
		name: "Timeouts",
		created(created: ServiceBroker) {
			broker = created;
			tally = rejectionTally(broker);
			if (broker.isMetricsEnabled())
				broker.metrics.register({
					name: METRIC.MOLECULER_REQUEST_TIMEOUT_TOTAL,
					type: METRIC.TYPE_COUNTER,
					labelNames: ["service", "action"],
					description: "Number of timed out requests",
					rate: true
				});
		},
		localAction: wrap,
		remoteAction: wrap
	} as unknown as Middleware;
}
