import { describe, expect, it } from 'vitest';
import { refreshDelayMs } from './token-store';

describe('refreshDelayMs', () => {
	it('refreshes a minute early for long-lived tokens', () => {
		expect(refreshDelayMs(900)).toBe(840_000);
	});
	it('refreshes at 80% for short-lived tokens', () => {
		expect(refreshDelayMs(100)).toBe(80_000);
	});
	it('never schedules sooner than five seconds', () => {
		expect(refreshDelayMs(2)).toBe(5_000);
	});
});
