import { describe, expect, it } from 'vitest';
import { isSessionKey, refreshDelayMs } from './token-store';

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

describe('isSessionKey', () => {
	it('names what says who is signed in (null: another tab cleared all of it)', () => {
		expect(isSessionKey('chat.refreshToken')).toBe(true);
		expect(isSessionKey('chat.user')).toBe(true);
		expect(isSessionKey(null)).toBe(true);
		expect(isSessionKey('chat.drafts.user-A')).toBe(false);
		expect(isSessionKey('chat.pendingLogouts')).toBe(false);
	});
});
