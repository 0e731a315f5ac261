import { GeneratorPool } from "../generator/pool.ts";
import type { ScenarioResult } from "../lib/results.ts";
import { createTarget, type BenchUser, type Mode } from "../lib/targets.ts";
import { targetOptions, describeStep, emptyResult, markInvalidSteps, measuredStep, type BenchOptions } from "./common.ts";

const GROUP_SIZE = 100;
const DROP_FRACTION = 0.2;

/**
 * S5: groups of 100 with messages flowing; a fifth of the clients lose their connection at the same
 * moment, reconnect by themselves and `chat.sync` from their cursors. Recovery is drop → synced;
 * after it every client must have every message (lost 0).
 */
export async function runReconnect(mode: Mode, options: BenchOptions): Promise<ScenarioResult> {
	const groups = options.quick ? 5 : 20;
	const rate = options.quick ? 100 : 200;
	const durationMs = Math.max(options.durationMs, 9000);
	const result = emptyResult("S5", mode, "ours", { groups, groupSize: GROUP_SIZE, rate, durationMs, dropFraction: DROP_FRACTION, dropAtMs: durationMs / 3 });
	const target = createTarget("ours", targetOptions(mode, options));
	const pool = new GeneratorPool(options.workers, options.limits);
	try {
		await target.start();
		const users = await target.createUsers(groups * GROUP_SIZE);
		const members: BenchUser[][] = Array.from({ length: groups }, (_, g) => users.slice(g * GROUP_SIZE, (g + 1) * GROUP_SIZE));
		const groupIds = await target.createGroups(members, "group");
		const connected = await pool.connect(
			"ours",
			target.clientSpecs(users, (_, i) => [groupIds[Math.floor(i / GROUP_SIZE)]])
		);
		if (connected.failed > 0) throw new Error(`${connected.failed} clients failed to connect: ${connected.errorSample.join("; ")}`);
		const senders = groupIds.flatMap((groupId, g) => [0, 1].map(k => ({ client: g * GROUP_SIZE + k, groupId })));
		const step = await measuredStep(pool, target, {
			senders,
			ratePerSender: rate / senders.length,
			durationMs,
			payloadBytes: options.payloadBytes,
			trackLastRecipient: true,
			drop: { atMs: durationMs / 3, fraction: DROP_FRACTION },
			settleMs: 60_000
		});
		result.steps.push(step);
		options.log(`S5 ${mode} ours: ${describeStep(step, true)}`);
		const r = step.recovery;
		options.log(
			`  dropped ${r?.dropped ?? 0}, recovered ${r?.recovered ?? 0}; recovery p50 ${r?.ms.p50} p99 ${r?.ms.p99} max ${r?.ms.max} ms; sync overlap ${step.syncOverlap}`
		);
		result.summary = {
			clients: users.length,
			dropped: r?.dropped ?? 0,
			recovered: r?.recovered ?? 0,
			recoveryP50Ms: r?.ms.p50 ?? null,
			recoveryP99Ms: r?.ms.p99 ?? null,
			recoveryMaxMs: r?.ms.max ?? null,
			lost: step.lost,
			duplicates: step.duplicates,
			outOfOrder: step.outOfOrder
		};
		markInvalidSteps(result);
	} catch (err) {
		result.valid = false;
		result.error = String((err as Error)?.stack ?? err);
		options.log(`S5 ${mode} ours failed: ${(err as Error)?.message ?? err}`);
	} finally {
		await pool.close().catch(() => undefined);
		await target.stop().catch(() => undefined);
	}
	return result;
}
