import { GeneratorPool } from "../generator/pool.ts";
import type { TargetKind } from "../generator/protocol.ts";
import { sleep } from "../lib/clock.ts";
import type { ScenarioResult } from "../lib/results.ts";
import { createTarget, type BenchUser } from "../lib/targets.ts";
import { targetOptions, emptyResult, type BenchOptions } from "./common.ts";

const GROUP_SIZE = 100;

/**
 * S7: handshakes with a valid token (login is setup, not measured): each socket is in groups of 100, so a
 * handshake checks the token, looks up and joins its rooms and reports the user online. `rounds` times all
 * clients connect (`inFlight` handshakes in flight per generator worker) and disconnect again; the rate and the
 * server's CPU per handshake are of the last round (the first one warms the JIT and the caches).
 */
export async function runHandshakes(kind: TargetKind, clients: number, options: BenchOptions, rounds = 2, inFlight = 100): Promise<ScenarioResult> {
	const result = emptyResult("S7", "embedded", kind, { clients, groupSize: GROUP_SIZE, rounds, inFlight, workers: options.workers });
	const target = createTarget(kind, targetOptions("embedded", options));
	try {
		await target.start();
		const users = await target.createUsers(clients);
		const memberLists: BenchUser[][] = [];
		for (let i = 0; i < users.length; i += GROUP_SIZE) memberLists.push(users.slice(i, i + GROUP_SIZE));
		const groupIds = await target.createGroups(memberLists, "group");
		const specs = target.clientSpecs(users, (_, i) => [groupIds[Math.floor(i / GROUP_SIZE)]]);
		for (let round = 1; round <= rounds; round++) {
			const pool = new GeneratorPool(options.workers, options.limits);
			try {
				await sleep(1000);
				const [before] = await target.cpuSeconds();
				const connect = await pool.connect(kind, specs, inFlight);
				const [after] = await target.cpuSeconds();
				const handshakesPerSec = Math.round(clients / connect.seconds);
				const cpuMsPerHandshake = Math.round(((after - before) * 1000 * 1000) / clients) / 1000;
				options.log(
					`S7 ${kind} round ${round}: ${clients} handshakes in ${connect.seconds} s = ${handshakesPerSec}/s; server CPU ${cpuMsPerHandshake} ms each; ` +
						`connect p50 ${connect.connect.p50} p99 ${connect.connect.p99} ms; ${connect.failed} failed`
				);
				result.summary = {
					handshakes: clients,
					handshakesPerSec,
					cpuMsPerHandshake,
					connectP50Ms: connect.connect.p50,
					connectP99Ms: connect.connect.p99,
					failed: connect.failed
				};
				if (connect.failed > 0) result.invalidReasons.push(`${connect.failed} of ${clients} handshakes failed: ${connect.errorSample.join("; ")}`);
			} finally {
				await pool.close().catch(() => undefined);
			}
		}
	} catch (err) {
		result.valid = false;
		result.error = String((err as Error)?.stack ?? err);
		options.log(`S7 ${kind} failed: ${(err as Error)?.message ?? err}`);
	} finally {
		await target.stop().catch(() => undefined);
	}
	return result;
}
