/**
 * One clock for every thread and process of a run: `process.hrtime.bigint()` reads CLOCK_MONOTONIC,
 * which worker threads and child processes on this machine share, so a send time written into a
 * payload by one worker can be compared with a receive time read in another.
 */
export function nowNs(): bigint {
	return process.hrtime.bigint();
}

export function elapsedUs(fromNs: bigint, toNs: bigint = nowNs()): number {
	return Number(toNs - fromNs) / 1000;
}

export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));
