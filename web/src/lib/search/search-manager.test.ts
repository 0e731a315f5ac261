import { describe, expect, it, vi } from 'vitest';
import type { SearchHit, SearchResult } from '@scalable-chat/contract';

const answers = vi.hoisted(() => ({ next: null as Promise<SearchResult> | null }));
const messages = vi.hoisted(() => vi.fn(() => answers.next!));
vi.mock('#lib/api/client.ts', () => ({ searchApi: { messages } }));
vi.mock('#lib/stores/users-manager.svelte.ts', () => ({ users: { ensure: () => undefined } }));

const { search } = await import('./search-manager.svelte.ts');

const hit = { groupId: 'g1', message: { id: 'm1', senderId: 'user-A', content: 'my PIN is 1234' } } as SearchHit;
const wait = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe('search at sign-out', () => {
	it('keeps nothing of the last user’s searches for the next one', async () => {
		answers.next = Promise.resolve({ items: [hit], next: 'cursor' });
		search.open('g1');
		search.setQuery('PIN');
		await wait(300);
		expect(search.items).toEqual([hit]);

		search.reset();
		expect(search).toMatchObject({ isOpen: false, query: '', scope: null, items: [], next: null, status: 'idle' });
		expect(search.problem).toBeNull();
		search.open(null);
		await wait(10);
		expect(search.items).toEqual([]);
		expect(messages).toHaveBeenCalledTimes(1);
	});

	it('drops an answer that was on its way', async () => {
		let answer = (_result: SearchResult) => undefined as void;
		answers.next = new Promise(resolve => (answer = resolve));
		search.open(null);
		search.setQuery('PIN');
		await wait(300);
		expect(search.status).toBe('loading');
		search.reset();
		answer({ items: [hit], next: null });
		await wait(10);
		expect(search.items).toEqual([]);
		expect(search.status).toBe('idle');
	});

	it('a search typed just before is not sent after', async () => {
		messages.mockClear();
		search.open(null);
		search.setQuery('PIN');
		search.reset();
		await wait(300);
		expect(messages).not.toHaveBeenCalled();
	});
});
