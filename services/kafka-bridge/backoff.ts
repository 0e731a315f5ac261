const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** Doubles from 0.5 s per failure up to 30 s, with ±25 % jitter so that nodes restarted together do not retry in step. */
export function backoffDelay(failures: number, random: () => number = Math.random): number {
	const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - 1, 10));
	return Math.round(base * (0.75 + random() * 0.5));
}

/** The first failure and then every 20th: Kafka may be down for hours. */
export function worthLogging(failures: number): boolean {
	return failures === 1 || failures % 20 === 0;
}
