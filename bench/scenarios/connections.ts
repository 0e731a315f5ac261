import { GeneratorPool } from "../generator/pool.ts";
import type { TargetKind } from "../generator/protocol.ts";
import { sleep } from "../lib/clock.ts";
import type { ScenarioResult } from "../lib/results.ts";
import { createTarget } from "../lib/targets.ts";
import { targetOptions, emptyResult, type BenchOptions } from "./common.ts";

const MB = 2 ** 20;

/** S0: authenticated idle sockets on one gateway node, ramped level by level; memory after GC per socket. */
export async function runConnections(kind: TargetKind, levels: number[], options: BenchOptions): Promise<ScenarioResult> {
	const result = emptyResult("S0", "embedded", kind, { levels, workers: options.workers });
	result.levels = [];
	const target = createTarget(kind, targetOptions("embedded", options));
	const pool = new GeneratorPool(options.workers, options.limits);
	try {
		await target.start();
		const max = Math.max(...levels);
		const setupStarted = Date.now();
		const users = await target.createUsers(max);
		result.setup.setupSeconds = Math.round((Date.now() - setupStarted) / 100) / 10;
		await sleep(1000);
		const [base] = await target.gatewayMemory();
		result.setup.baseMemory = base;
		options.log(
			`S0 ${kind}: ${max} users ready (${result.setup.setupSeconds} s); base RSS ${Math.round(base.rss / MB)} MB, heap ${Math.round(base.heapUsed / MB)} MB`
		);
		let connected = 0;
		for (const level of [...levels].sort((a, b) => a - b)) {
			const specs = target.clientSpecs(users.slice(connected, level), () => [], connected);
			const connect = await pool.connect(kind, specs, 100);
			connected = level;
			// Let handshakes, presence writes and timers settle before the GC'd sample.
			await sleep(3000);
			const [mem] = await target.gatewayMemory();
			const perSocket = (now: number, then: number) => Math.round(((now - then) / level / 1024) * 100) / 100;
			const record = {
				connections: level,
				connect,
				rssMB: Math.round(mem.rss / MB),
				heapUsedMB: Math.round(mem.heapUsed / MB),
				rssPerConnectionKB: perSocket(mem.rss, base.rss),
				heapPerConnectionKB: perSocket(mem.heapUsed, base.heapUsed)
			};
			result.levels.push(record);
			options.log(
				`  ${level} sockets: RSS ${record.rssMB} MB (${record.rssPerConnectionKB} KB/socket), heap ${record.heapUsedMB} MB (${record.heapPerConnectionKB} KB/socket); ` +
					`connect p50 ${connect.connect.p50} p99 ${connect.connect.p99} ms, ${connect.failed} failed, ${connect.seconds} s; generator elu ${connect.generator.maxElu}`
			);
			if (connect.failed > 0)
				result.invalidReasons.push(`${connect.failed} of ${specs.length} sockets failed at level ${level}: ${connect.errorSample.join("; ")}`);
		}
		const top = result.levels[result.levels.length - 1];
		const totalFailed = result.levels.reduce((n, l) => n + l.connect.failed, 0);
		result.summary = {
			connections: top.connections,
			rssMB: top.rssMB,
			heapUsedMB: top.heapUsedMB,
			rssPerConnectionKB: top.rssPerConnectionKB,
			heapPerConnectionKB: top.heapPerConnectionKB,
			connectP50Ms: top.connect.connect.p50,
			connectP99Ms: top.connect.connect.p99,
			failed: totalFailed
		};
		// Connecting is bursty by design; the generator's health matters less than for latency steps, so it is recorded, not enforced.
	} catch (err) {
		result.valid = false;
		result.error = String((err as Error)?.stack ?? err);
		options.log(`S0 ${kind} failed: ${(err as Error)?.message ?? err}`);
	} finally {
		await pool.close().catch(() => undefined);
		await target.stop().catch(() => undefined);
	}
	return result;
}
