/** How a node sheds load: back-off hints for the clients it turns away, and a log of them that stays a rate. */

export interface TallyLogger {
	warn(...args: unknown[]): void;
}

/**
 * Counts rejections and timeouts by what failed and why, and writes them as one line per interval
 * (`messages.send SERVICE_OVERLOADED ×3120, …`). Under overload every request that fails fails the same way;
 * a line (and a stack) per request would cost the node the time it needs for the requests it can still serve.
 */
export class RejectionTally {
	private readonly logger: TallyLogger;
	private readonly intervalMs: number;
	private counts = new Map<string, number>();
	private timer: NodeJS.Timeout | null = null;

	constructor(logger: TallyLogger, intervalMs = 5000) {
		this.logger = logger;
		this.intervalMs = intervalMs;
	}

	count(what: string, reason: string): void {
		const key = `${what} ${reason}`;
		this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
		if (!this.timer) {
			this.timer = setTimeout(() => this.flush(), this.intervalMs);
			this.timer.unref();
		}
	}

	/** Writes what was counted since the last line (nothing when nothing was). */
	flush(): void {
		if (this.timer) clearTimeout(this.timer);
		this.timer = null;
		if (this.counts.size === 0) return;
		const parts = [...this.counts].map(([key, n]) => `${key} ×${n}`);
		this.counts = new Map();
		this.logger.warn(`Rejected or timed out in the last ${this.intervalMs / 1000} s: ${parts.join(", ")}`);
	}
}

const tallies = new WeakMap<object, RejectionTally>();

/** The node's one tally (keyed by its broker), shared by the gateways' error paths and the middlewares. */
export function rejectionTally(broker: { getLogger(module: string): TallyLogger }): RejectionTally {
	let tally = tallies.get(broker);
	if (!tally) {
		tally = new RejectionTally(broker.getLogger("overload"));
		tallies.set(broker, tally);
	}
	return tally;
}

/**
 * How long a turned-away client should wait: about the time the work already queued takes to drain,
 * within [min, max], spread by up to half again so that clients turned away together do not all come back together.
 */
export function retryAfterMs(drainMs: number, min = 100, max = 5000, random: () => number = Math.random): number {
	const base = Math.min(max, Math.max(min, drainMs));
	return Math.round(base * (1 + random() / 2));
}

/** A moving average of how long a unit of work takes, to estimate how long a queue takes to drain. */
export class ServiceTime {
	private averageMs: number;
	private readonly weight: number;

	constructor(initialMs = 5, weight = 0.05) {
		this.averageMs = initialMs;
		this.weight = weight;
	}

	record(ms: number): void {
		this.averageMs += (ms - this.averageMs) * this.weight;
	}

	get ms(): number {
		return this.averageMs;
	}
}

/** What the Admission middleware tells a gateway on the same node about one pool: full now, and for how long. */
export interface AdmissionState {
	/** A new call would be refused now. */
	full(): boolean;
	retryAfterMs(): number;
}

const admissionStates = new WeakMap<object, Map<string, AdmissionState>>();

export function registerAdmission(broker: object, pool: string, state: AdmissionState): void {
	let pools = admissionStates.get(broker);
	if (!pools) admissionStates.set(broker, (pools = new Map()));
	pools.set(pool, state);
}

/**
 * The pool's state on this node, once a call of it has been made. The socket gateway asks before it does
 * anything for a send: a refusal that costs no context, no promise chain and no error is what keeps a
 * node shedding three times its capacity at its maximum.
 */
export function admissionOf(broker: object, pool: string): AdmissionState | undefined {
	return admissionStates.get(broker)?.get(pool);
}
