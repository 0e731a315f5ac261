import { GeneratorPool } from "../generator/pool.ts";
import type { TargetKind } from "../generator/protocol.ts";
import type { ScenarioId, ScenarioResult } from "../lib/results.ts";
import { createTarget, type BenchUser, type Mode } from "../lib/targets.ts";
import { targetOptions, describeStep, emptyResult, keptUp, ladderSummary, markInvalidSteps, measuredStep, type BenchOptions } from "./common.ts";

export interface FanoutPlan {
	scenario: ScenarioId;
	/** Members per conversation (2 = direct messages). */
	groupSize: number;
	groups: number;
	/** Members of each conversation who send; the rest only receive. */
	sendersPerGroup: number;
	/** Total messages/s offered, one step each, until the target stops keeping up. */
	rates: number[];
	/** Further steps (each 1.5× the last) while the target still keeps up after `rates`, so its maximum is found. */
	extraSteps: number;
}

/**
 * S1–S3: conversations of `groupSize` members, a few of whom send at a fixed open-loop rate; every
 * member is a connected client. Steps up the rate and stops after the first step the target cannot keep up with.
 */
export async function runFanout(plan: FanoutPlan, kind: TargetKind, mode: Mode, options: BenchOptions): Promise<ScenarioResult> {
	const direct = plan.groupSize === 2;
	const result = emptyResult(plan.scenario, mode, kind, {
		...plan,
		payloadBytes: options.payloadBytes,
		durationMs: options.durationMs,
		workers: options.workers
	});
	const target = createTarget(kind, targetOptions(mode, options));
	const pool = new GeneratorPool(options.workers, options.limits);
	try {
		await target.start();
		const setupStarted = Date.now();
		const users = await target.createUsers(plan.groups * plan.groupSize);
		const memberLists: BenchUser[][] = Array.from({ length: plan.groups }, (_, g) => users.slice(g * plan.groupSize, (g + 1) * plan.groupSize));
		const groupIds = await target.createGroups(memberLists, direct ? "direct" : "group");
		result.setup.setupSeconds = Math.round((Date.now() - setupStarted) / 100) / 10;
		const specs = target.clientSpecs(users, (_, i) => [groupIds[Math.floor(i / plan.groupSize)]]);
		const connected = await pool.connect(kind, specs);
		result.setup.connect = connected;
		if (connected.failed > 0) throw new Error(`${connected.failed} clients failed to connect: ${connected.errorSample.join("; ")}`);
		options.log(`${plan.scenario} ${mode} ${kind}: ${users.length} clients in ${plan.groups} conversations connected (setup ${result.setup.setupSeconds} s)`);

		const senders = groupIds.flatMap((groupId, g) => Array.from({ length: plan.sendersPerGroup }, (_, k) => ({ client: g * plan.groupSize + k, groupId })));
		const recipients = plan.groupSize - 1;
		// Warm-up (not recorded): JIT, caches, and in cluster mode the first calls across the transporter.
		const warm = await pool.step({ senders, ratePerSender: plan.rates[0] / senders.length, durationMs: 2000, payloadBytes: options.payloadBytes });
		options.log(`  warm-up: ${warm.acked}/${warm.sent} acked, ack p99 ${warm.ack.p99} ms, lost ${warm.lost}`);
		const rates = [...plan.rates];
		for (let i = 0; i < rates.length; i++) {
			const rate = rates[i];
			const step = await measuredStep(pool, target, {
				senders,
				ratePerSender: rate / senders.length,
				durationMs: options.durationMs,
				payloadBytes: options.payloadBytes,
				trackLastRecipient: !direct
			});
			result.steps.push(step);
			options.log(`  ${describeStep(step, !direct)}`);
			if (!keptUp(step, recipients)) break;
			if (!step.generator.valid) {
				options.log(`  stopping: the generator saturated (${step.generator.invalidReason})`);
				break;
			}
			if (i === rates.length - 1 && rates.length < plan.rates.length + plan.extraSteps) rates.push(Math.round(rate * 1.5));
		}
		result.summary = ladderSummary(
			result.steps.filter(s => s.generator.valid),
			recipients,
			!direct
		);
		markInvalidSteps(result);
	} catch (err) {
		result.valid = false;
		result.error = String((err as Error)?.stack ?? err);
		options.log(`${plan.scenario} ${mode} ${kind} failed: ${(err as Error)?.message ?? err}`);
	} finally {
		await pool.close().catch(() => undefined);
		await target.stop().catch(() => undefined);
	}
	return result;
}
