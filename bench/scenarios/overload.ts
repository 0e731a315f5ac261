import { runOverloadExperiment } from "../lib/overload.ts";
import type { ScenarioResult } from "../lib/results.ts";
import { emptyResult, type BenchOptions } from "./common.ts";

/**
 * S6: the embedded node offered 3× its sustained maximum (bench/lib/overload.ts, the same experiment as
 * test/reliability/overload.test.ts): goodput each second against the maximum, how fast every send is answered,
 * and afterwards every acknowledged message in the history once and in order.
 */
export async function runOverload(options: BenchOptions): Promise<ScenarioResult> {
	const plan = { pairs: options.quick ? 100 : 250, probeMs: options.quick ? 3000 : 5000, overloadMs: options.quick ? 10_000 : 20_000, factor: 3 };
	const result = emptyResult("S6", "embedded", "ours", plan);
	try {
		const r = await runOverloadExperiment({
			...plan,
			recoveryMs: 2000,
			payloadBytes: options.payloadBytes,
			retries: 200,
			env: options.memoryStorage ? { DATA_DIR: ":memory:" } : {},
			log: line => options.log(`S6 ${line}`)
		});
		const goodput = r.seconds.slice(1).map(s => s.ok / r.maxPerSec);
		result.summary = {
			maxPerSec: r.maxPerSec,
			offeredPerSec: r.offeredPerSec,
			minGoodputRatio: Math.round(Math.min(...goodput) * 100) / 100,
			meanGoodputRatio: Math.round((goodput.reduce((a, b) => a + b, 0) / goodput.length) * 100) / 100,
			answerP99Ms: r.answerP99Ms,
			maxAnswerMs: r.maxAnswerMs,
			unanswered: r.unanswered,
			recoveryRatio: Math.round((r.recoveryPerSec / r.maxPerSec) * 100) / 100,
			serverCores: r.serverCores,
			lost: r.lost,
			duplicates: r.duplicates,
			outOfOrder: r.outOfOrder
		};
		options.log(`S6 ${JSON.stringify(result.summary)}`);
	} catch (err) {
		result.valid = false;
		result.error = String((err as Error)?.stack ?? err);
		options.log(`S6 failed: ${(err as Error)?.message ?? err}`);
	}
	return result;
}
