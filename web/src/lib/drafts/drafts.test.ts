import { describe, expect, it } from 'vitest';
import { failingStorage, memoryStorage } from '#lib/storage/test-storage.ts';
import { DraftStore } from './drafts';

describe('DraftStore', () => {
	it('keeps one draft per conversation', () => {
		const storage = memoryStorage();
		const drafts = new DraftStore(() => storage);
		drafts.set('u1', 'g1', 'half a thought');
		drafts.set('u1', 'g2', 'another');
		expect(drafts.get('u1', 'g1')).toBe('half a thought');
		expect(drafts.get('u1', 'g2')).toBe('another');
		expect(drafts.get('u1', 'g3')).toBe('');
	});

	it('survives a new store over the same storage (a reload)', () => {
		const storage = memoryStorage();
		new DraftStore(() => storage).set('u1', 'g1', 'typed before reload');
		expect(new DraftStore(() => storage).get('u1', 'g1')).toBe('typed before reload');
	});

	it('keeps users apart and forgets one at logout', () => {
		const storage = memoryStorage();
		const drafts = new DraftStore(() => storage);
		drafts.set('u1', 'g1', 'mine');
		drafts.set('u2', 'g1', 'theirs');
		drafts.forget('u1');
		expect(drafts.get('u1', 'g1')).toBe('');
		expect(drafts.get('u2', 'g1')).toBe('theirs');
	});

	it('removes an emptied draft, and its key with the last one', () => {
		const storage = memoryStorage();
		const drafts = new DraftStore(() => storage);
		drafts.set('u1', 'g1', 'x');
		drafts.set('u1', 'g1', '   ');
		expect(drafts.get('u1', 'g1')).toBe('');
		expect(storage.data.size).toBe(0);
	});

	it('shrugs off broken or missing storage', () => {
		const storage = memoryStorage();
		storage.setItem('chat.drafts.u1', '{not json');
		expect(new DraftStore(() => storage).get('u1', 'g1')).toBe('');
		const none = new DraftStore(() => null);
		none.set('u1', 'g1', 'x');
		expect(none.get('u1', 'g1')).toBe('');
		const throwing = new DraftStore(failingStorage);
		expect(() => throwing.set('u1', 'g1', 'x')).not.toThrow();
		expect(throwing.get('u1', 'g1')).toBe('');
	});
});
