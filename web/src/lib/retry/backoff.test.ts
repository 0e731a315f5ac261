import { describe, expect, it } from 'vitest';
import { backoffDelay, RECONNECT_BACKOFF } from './backoff';

describe('backoffDelay', () => {
	const fixed = (value: number) => () => value;

	it('doubles the window each attempt, half of it random', () => {
		expect(backoffDelay(0, RECONNECT_BACKOFF, fixed(0))).toBe(250);
		expect(backoffDelay(0, RECONNECT_BACKOFF, fixed(1))).toBe(500);
		expect(backoffDelay(1, RECONNECT_BACKOFF, fixed(0))).toBe(500);
		expect(backoffDelay(3, RECONNECT_BACKOFF, fixed(1))).toBe(4000);
	});

	it('never waits longer than the cap, however many attempts failed', () => {
		for (const attempt of [5, 10, 100, 10_000, Number.MAX_SAFE_INTEGER]) {
			const delay = backoffDelay(attempt, RECONNECT_BACKOFF, fixed(1));
			expect(delay).toBe(RECONNECT_BACKOFF.maxMs);
			expect(backoffDelay(attempt, RECONNECT_BACKOFF, fixed(0))).toBe(RECONNECT_BACKOFF.maxMs / 2);
		}
	});

	it('spreads clients out: random draws give different delays within the window', () => {
		const delays = [0, 0.25, 0.5, 0.75, 0.999].map(r => backoffDelay(4, RECONNECT_BACKOFF, fixed(r)));
		expect(new Set(delays).size).toBe(delays.length);
		for (const d of delays) {
			expect(d).toBeGreaterThanOrEqual(4000);
			expect(d).toBeLessThanOrEqual(8000);
		}
	});

	it('treats nonsense attempts as the first', () => {
		expect(backoffDelay(-3, { baseMs: 100, maxMs: 1000 }, fixed(1))).toBe(100);
		expect(backoffDelay(1.7, { baseMs: 100, maxMs: 1000 }, fixed(1))).toBe(200);
	});
});
