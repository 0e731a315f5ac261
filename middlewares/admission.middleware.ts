import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { ActionHandler, ActionSchema, Context, Middleware, ServiceBroker } from "moleculer";
import { chatConfig } from "../lib/config.ts";
import { isOverloaded, overloaded } from "../lib/errors.ts";
import { registerAdmission, rejectionTally, retryAfterMs, ServiceTime, type RejectionTally } from "../lib/overload.ts";
import type { AdmissionPolicy } from "./policies.ts";

/** How often the event-loop delay is looked at (and its histogram started again). */
const DELAY_SAMPLE_MS = 200;

/** A call that took longer than this was queued for too long: the node admits fewer until calls are quick again. */
const TARGET_MS = 500;
const MIN_LIMIT = 8;

/**
 * The calls of one pool in flight on this node, bounded by a limit that adapts (additive increase, multiplicative
 * decrease): when the node slows down (a busy disk, a neighbour taking the CPU) the same number in flight would
 * mean seconds of waiting, so it admits fewer; the configured bound is the most it ever admits.
 */
class Pool {
	inFlight = 0;
	readonly serviceTime = new ServiceTime();
	readonly max: number;
	limit: number;
	private lastDecrease = 0;

	constructor(max: number) {
		this.max = max;
		this.limit = max;
	}

	completed(ms: number, now: number): void {
		this.serviceTime.record(ms);
		if (ms <= TARGET_MS) this.limit = Math.min(this.max, this.limit + 1);
		else if (now - this.lastDecrease >= TARGET_MS) {
			this.limit = Math.max(Math.min(MIN_LIMIT, this.max), Math.floor(this.limit * Math.max(0.5, TARGET_MS / ms)));
			this.lastDecrease = now;
		}
	}
}

/**
 * `admission: { pool }`: a node keeps at most `SEND_MAX_IN_FLIGHT` calls of a pool in flight (fewer while calls
 * take longer than TARGET_MS, see Pool) and refuses the
 * next one at once with 503 SERVICE_OVERLOADED and `retryAfterMs`, before anything else is done for it (it is the
 * outermost middleware: no validation, no membership lookup, no storage). Past the bound a queue only adds latency:
 * the store already works as fast as it can, and requests that wait out their timeout are work thrown away.
 * It bounds local calls (the node doing the work) and remote ones (a gateway's calls to other nodes) alike.
 * With `SEND_MAX_EVENT_LOOP_DELAY_MS` a node whose event loop lags more than that (p99 over 200 ms) sheds too.
 */
export function Admission(): Middleware {
	let broker: ServiceBroker;
	let tally: RejectionTally;
	const pools = new Map<AdmissionPolicy["pool"], Pool>();
	let delay: IntervalHistogram | null = null;
	let delaySampler: NodeJS.Timeout | null = null;
	let lagging = false;

	/** The one rule, for this middleware and for the gateway's fast path (admissionOf). */
	const refuses = (pool: Pool) => pool.inFlight >= pool.limit || lagging;

	function poolFor(name: AdmissionPolicy["pool"]): Pool {
		let pool = pools.get(name);
		if (!pool) {
			const created = new Pool(chatConfig(broker).overload.maxSendsInFlight);
			pools.set(name, created);
			registerAdmission(broker, name, { full: () => refuses(created), retryAfterMs: () => retryAfterMs(created.serviceTime.ms) });
			pool = created;
			startDelaySampler();
		}
		return pool;
	}

	function startDelaySampler() {
		const maxDelayMs = chatConfig(broker).overload.maxEventLoopDelayMs;
		if (maxDelayMs <= 0 || delay) return;
		delay = monitorEventLoopDelay({ resolution: 10 });
		delay.enable();
		delaySampler = setInterval(() => {
			lagging = delay!.percentile(99) / 1e6 > maxDelayMs;
			delay!.reset();
		}, DELAY_SAMPLE_MS);
		delaySampler.unref();
	}

	/** `local`: this node does the work, and counts the refusals from further in too (a full conversation queue). */
	function wrap(handler: ActionHandler, action: ActionSchema, local: boolean) {
		const policy = action.admission;
		if (!policy) return handler;
		const name = action.name!;
		return function admitted(this: unknown, ctx: Context) {
			const pool = poolFor(policy.pool);
			if (refuses(pool)) {
				tally.count(name, lagging ? "SERVICE_OVERLOADED (event loop lag)" : "SERVICE_OVERLOADED");
				return Promise.reject(overloaded(retryAfterMs(pool.serviceTime.ms)));
			}
			pool.inFlight++;
			const started = performance.now();
			const done = () => {
				pool.inFlight--;
				const now = performance.now();
				pool.completed(now - started, now);
			};
			const result = handler.call(this as never, ctx) as Promise<unknown>;
			result.then(done, err => {
				done();
				if (local && isOverloaded(err)) tally.count(name, "SERVICE_OVERLOADED (conversation queue)");
			});
			return result;
		};
	}

	return {
		name: "Admission",
		created(created: ServiceBroker) {
			broker = created;
			tally = rejectionTally(broker);
		},
		localAction: (handler: ActionHandler, action: ActionSchema) => wrap(handler, action, true),
		remoteAction: (handler: ActionHandler, action: ActionSchema) => wrap(handler, action, false),
		stopped() {
			if (delaySampler) clearInterval(delaySampler);
			delay?.disable();
			tally.flush();
		}
	} as unknown as Middleware;
}
