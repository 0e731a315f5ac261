import { describe, expect, it } from 'vitest';
import { newEntry } from './outbox-queue';
import { openOutboxStore } from './outbox-store';

const entry = newEntry(
	{ clientMessageId: 'c1', groupId: 'g1', senderId: 'me', content: 'hi', attachments: [], createdAt: '2025-01-01' },
	1
);

// Without IndexedDB (as here) the store is in memory; both keep to the same rules.
describe('the outbox store', () => {
	it('updates only an entry it still holds: one another tab removed does not come back', async () => {
		const store = openOutboxStore();
		expect(await store.update(entry)).toBe(false);
		expect(await store.load('me')).toEqual([]);
		await store.put(entry);
		expect(await store.update({ ...entry, state: 'sending' })).toBe(true);
		expect((await store.load('me'))[0].state).toBe('sending');
		await store.delete('c1');
		expect(await store.update({ ...entry, state: 'failed' })).toBe(false);
		expect(await store.load('me')).toEqual([]);
	});
});
