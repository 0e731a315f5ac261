import type { GeneratorPool, StepOptions } from "../generator/pool.ts";
import type { TargetKind } from "../generator/protocol.ts";
import type { ScenarioId, ScenarioResult, StepRecord } from "../lib/results.ts";
import type { Mode, Target, TargetOptions } from "../lib/targets.ts";

export interface BenchOptions {
	quick: boolean;
	workers: number;
	durationMs: number;
	payloadBytes: number;
	limits: { maxElu: number; maxEldP99Ms: number };
	cpuProfileDir: string | null;
	cluster: { transporter: string; redisUrl: string; socketNodes?: number; cpus?: { core: string; sockets: string[] } };
	memoryStorage: boolean;
	log(line: string): void;
}

/** A step as the target saw it too: server CPU over the step. */
export async function measuredStep(pool: GeneratorPool, target: Target, options: StepOptions): Promise<StepRecord> {
	const before = await target.cpuSeconds();
	const started = process.hrtime.bigint();
	const result = await pool.step(options);
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	const after = await target.cpuSeconds();
	const used = after.map((s, i) => s - before[i]);
	return { ...result, serverCores: used.map(s => Math.round((s / seconds) * 100) / 100), serverCpuSeconds: used.map(s => Math.round(s * 1000) / 1000) };
}

export function describeStep(s: StepRecord, lastRecipient: boolean): string {
	const lat = lastRecipient && s.lastRecipient ? s.lastRecipient : s.delivery;
	return (
		`offered ${s.offeredPerSec} msg/s → stored ${s.storedPerSec}/s, delivered ${s.deliveriesPerSec}/s; ` +
		`${lastRecipient ? "last-recipient" : "delivery"} p50 ${lat.p50} p99 ${lat.p99} max ${lat.max} ms; ack p99 ${s.ack.p99} ms; ` +
		`lost ${s.lost} dup ${s.duplicates} ooo ${s.outOfOrder}; errors ${s.ackErrors}; server cores ${s.serverCores.join("/")}; ` +
		`generator elu ${s.generator.maxElu} eld p99 ${s.generator.maxEldP99Ms} ms${s.generator.valid ? "" : " INVALID"}`
	);
}

/**
 * A step keeps up when what was offered was stored (90% of it within the window) and delivered (lost ≤ 1%),
 * and the slowest 1% took under a second (beyond that the target is queueing, not keeping up).
 */
export function keptUp(s: StepRecord, recipientsPerMessage: number): boolean {
	const latency = s.lastRecipient ?? s.delivery;
	return s.ackErrors === 0 && s.storedPerSec >= 0.9 * s.offeredPerSec && s.lost <= 0.01 * s.sent * recipientsPerMessage && latency.p99 < KEPT_UP_P99_MS;
}

export const KEPT_UP_P99_MS = 1000;

export function emptyResult(scenario: ScenarioId, mode: Mode, target: TargetKind, setup: Record<string, unknown>): ScenarioResult {
	return { scenario, mode, target, setup, steps: [], summary: {}, valid: true, invalidReasons: [] };
}

/**
 * Steps where the generator saturated are excluded (their numbers describe the generator); a ladder
 * result stays valid on the steps below them, a scenario without any valid step is invalid.
 */
export function markInvalidSteps(result: ScenarioResult): void {
	for (const s of result.steps) if (!s.generator.valid) result.invalidReasons.push(`step ${s.offeredPerSec} msg/s excluded: ${s.generator.invalidReason}`);
	if (!result.steps.some(s => s.generator.valid)) result.valid = false;
}

/**
 * Ladder summary: the highest offered rate the target kept up with, the best delivered rate, and the
 * latency p99 at the step closest to half of that rate.
 */
export function ladderSummary(steps: StepRecord[], recipientsPerMessage: number, lastRecipient: boolean): Record<string, number | null> {
	const latencyOf = (s: StepRecord) => (lastRecipient && s.lastRecipient ? s.lastRecipient : s.delivery);
	const kept = steps.filter(s => keptUp(s, recipientsPerMessage));
	const sustained = kept.length ? Math.max(...kept.map(s => s.offeredPerSec)) : null;
	let atHalf: StepRecord | undefined;
	if (sustained != null)
		atHalf = steps.reduce((best, s) => (Math.abs(s.offeredPerSec - sustained / 2) < Math.abs(best.offeredPerSec - sustained / 2) ? s : best), steps[0]);
	const top = sustained != null ? steps.find(s => s.offeredPerSec === sustained) : undefined;
	const fast = kept.filter(s => latencyOf(s).p99 < 50);
	// Server CPU (all server processes) per stored message and per delivery at the kept-up step: a regression shows as a number.
	const cpuMs = top ? top.serverCores.reduce((a, b) => a + b, 0) * 1000 : 0;
	const perUnit = (count: number, scale: number) => (top && count > 0 ? Math.round((cpuMs / count) * scale * 1000) / 1000 : null);
	return {
		sustainedMsgsPerSec: sustained,
		/** 1 when the ladder found the limit; 0 when the target kept up with every step (its maximum is higher). */
		saturated: steps.length && !keptUp(steps[steps.length - 1], recipientsPerMessage) ? 1 : 0,
		maxStoredPerSec: steps.length ? Math.max(...steps.map(s => s.storedPerSec)) : null,
		maxDeliveriesPerSec: steps.length ? Math.max(...steps.map(s => s.deliveriesPerSec)) : null,
		halfRateMsgsPerSec: atHalf?.offeredPerSec ?? null,
		p99AtHalfMs: atHalf ? latencyOf(atHalf).p99 : null,
		p99AtSustainedMs: top ? latencyOf(top).p99 : null,
		ackP99AtSustainedMs: top ? top.ack.p99 : null,
		maxRateWithP99Under50Ms: fast.length ? Math.max(...fast.map(s => s.offeredPerSec)) : null,
		cpuMsPerMessage: perUnit(top?.storedPerSec ?? 0, 1),
		cpuUsPerDelivery: perUnit(top?.deliveriesPerSec ?? 0, 1000),
		lost: steps.reduce((n, s) => n + s.lost, 0),
		duplicates: steps.reduce((n, s) => n + s.duplicates, 0),
		outOfOrder: steps.reduce((n, s) => n + s.outOfOrder, 0)
	};
}

export function targetOptions(mode: Mode, options: BenchOptions): TargetOptions {
	return {
		mode,
		transporter: options.cluster.transporter,
		redisUrl: options.cluster.redisUrl,
		socketNodes: options.cluster.socketNodes,
		clusterCpus: options.cluster.cpus,
		...(options.memoryStorage ? { env: { DATA_DIR: ":memory:" } } : {}),
		// BENCH_NODE_ARGS: more flags for our nodes, e.g. "--trace-gc" with BENCH_SERVER_LOG=<dir> to keep their output.
		nodeArgs: [
			...(options.cpuProfileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`] : []),
			...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [])
		]
	};
}
