import { describe, expect, it } from 'vitest';
import { ApiError } from '#lib/api/errors.ts';
import { failingStorage, memoryStorage } from '#lib/storage/test-storage.ts';
import { PendingLogouts } from './pending-logouts';

const unreachable = () => Promise.reject(new TypeError('Failed to fetch'));
const refused = (status: number) => () => Promise.reject(new ApiError(status, { message: 'no' }));

describe('logouts waiting for the server', () => {
	it('keep their token across a reload until the server revokes it', async () => {
		const storage = memoryStorage();
		new PendingLogouts(() => storage).add('rt-1');
		const reloaded = new PendingLogouts(() => storage);
		expect(await reloaded.revoke(unreachable)).toBe(1);
		expect(reloaded.tokens()).toEqual(['rt-1']);

		const sent: string[] = [];
		expect(await reloaded.revoke(async token => void sent.push(token))).toBe(0);
		expect(sent).toEqual(['rt-1']);
		expect(storage.data.size).toBe(0);
	});

	it('stay through outages, 5xx, timeouts and rate limits; go on any other answer', async () => {
		const storage = memoryStorage();
		const logouts = new PendingLogouts(() => storage);
		for (const status of [500, 502, 503, 408, 429]) {
			logouts.add('rt');
			expect(await logouts.revoke(refused(status))).toBe(1);
		}
		expect(await logouts.revoke(refused(401))).toBe(0);
		logouts.add('rt');
		expect(await logouts.revoke(refused(422))).toBe(0);
		expect(logouts.tokens()).toEqual([]);
	});

	it('each goes on its own', async () => {
		const storage = memoryStorage();
		const logouts = new PendingLogouts(() => storage);
		logouts.add('a');
		logouts.add('b');
		logouts.add('a');
		expect(logouts.tokens()).toEqual(['b', 'a']);
		expect(await logouts.revoke(token => (token === 'a' ? Promise.resolve() : unreachable()))).toBe(1);
		expect(logouts.tokens()).toEqual(['b']);
	});

	it('are still tried while the page is open when the browser keeps nothing', async () => {
		const logouts = new PendingLogouts(failingStorage);
		logouts.add('rt');
		expect(await logouts.revoke(unreachable)).toBe(1);
		const sent: string[] = [];
		expect(await logouts.revoke(async token => void sent.push(token))).toBe(0);
		expect(sent).toEqual(['rt']);
	});
});
