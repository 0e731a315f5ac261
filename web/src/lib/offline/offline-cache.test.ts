import { describe, expect, it } from 'vitest';
import type { Group, User } from '@scalable-chat/contract';
import { ApiError } from '#lib/api/errors.ts';
import { message } from '#lib/timeline/fixtures.ts';
import { group as groupFixture } from '#lib/conversations/fixtures.ts';
import {
	DEFAULT_LIMITS,
	emptySnapshot,
	isUnreachable,
	OfflineCache,
	parseSnapshot,
	serializeSnapshot,
	type OfflineSnapshot
} from './offline-cache';
import { failingStorage, memoryStorage } from '#lib/storage/test-storage.ts';
import type { KeyValueStorage } from '#lib/storage/browser-storage.ts';

const group = (id: string): Group =>
	groupFixture(id, {
		name: `Room ${id}`,
		members: [{ userId: 'u1', role: 'owner' }],
		memberCount: 1,
		createdAt: '2026-01-01T00:00:00.000Z',
		updatedAt: '2026-01-01T00:00:00.000Z',
		lastSeq: 3,
		readSeq: 1,
		unreadCount: 2,
		lastMessage: message(3, { groupId: id }),
		lastActivityAt: '2026-01-01T00:00:00.000Z'
	});

const user = (id: string): User => ({ id, username: id, displayName: `Person ${id}`, avatarUrl: null, statusText: '' });

/** Writes happen when the test says so, like the batching timer firing. */
function manualCache(storage: KeyValueStorage, limits = DEFAULT_LIMITS) {
	const flushes: (() => void)[] = [];
	const cache = new OfflineCache(() => storage, {
		limits,
		schedule: flush => {
			flushes.push(flush);
			return () => flushes.splice(flushes.indexOf(flush), 1);
		}
	});
	return { cache, fire: () => flushes.splice(0).forEach(f => f()) };
}

describe('OfflineCache', () => {
	it('keeps the list and pages across a new cache over the same storage (a reload)', () => {
		const storage = memoryStorage();
		const { cache, fire } = manualCache(storage);
		cache.saveList('u1', [group('g1'), group('g2')], [user('u2')]);
		cache.savePages('u1', [{ groupId: 'g1', messages: [message(1), message(2)] }]);
		expect(storage.data.size).toBe(0);
		fire();
		const reloaded = new OfflineCache(() => storage);
		const snapshot = reloaded.read('u1');
		expect(snapshot?.groups.map(g => g.id)).toEqual(['g1', 'g2']);
		expect(snapshot?.people.map(u => u.id)).toEqual(['u2']);
		expect(reloaded.page('u1', 'g1')?.map(m => m.seq)).toEqual([1, 2]);
		expect(reloaded.page('u1', 'g9')).toBeNull();
	});

	it('keeps the sync token per user across a reload, beside the list', () => {
		const storage = memoryStorage();
		const { cache, fire } = manualCache(storage);
		cache.saveList('u1', [group('g1')]);
		cache.saveSyncToken('u1', 'token-1');
		cache.saveSyncToken('u1', 'token-2');
		fire();
		const reloaded = new OfflineCache(() => storage);
		expect(reloaded.syncToken('u1')).toBe('token-2');
		expect(reloaded.syncToken('u2')).toBeNull();
		expect(reloaded.read('u1')?.groups).toHaveLength(1);
	});

	it('fills in the fields a snapshot saved by an earlier version lacks', () => {
		const { reactions: _r, mentions: _m, system: _s, ...oldMessage } = message(3);
		const { mentionCount: _c, avatarUrl: _a, ...oldGroup } = group('g1');
		const text = JSON.stringify({
			version: 1,
			savedAt: 'x',
			groups: [{ ...oldGroup, lastMessage: oldMessage }],
			pages: [{ groupId: 'g1', messages: [oldMessage] }],
			people: []
		});
		const snapshot = parseSnapshot(text);
		expect(snapshot?.groups[0]).toMatchObject({ mentionCount: 0, avatarUrl: null });
		expect(snapshot?.groups[0].lastMessage).toMatchObject({ reactions: [], mentions: [], system: null });
		expect(snapshot?.pages[0].messages[0]).toMatchObject({ reactions: [], mentions: [], system: null });
		expect(snapshot?.syncToken).toBeUndefined();
	});

	it('reads what is batched before it is written', () => {
		const { cache } = manualCache(memoryStorage());
		cache.saveList('u1', [group('g1')]);
		expect(cache.read('u1')?.groups).toHaveLength(1);
	});

	it('keeps users apart and forgets one at logout, batched writes included', () => {
		const storage = memoryStorage();
		const { cache, fire } = manualCache(storage);
		cache.saveList('u1', [group('g1')]);
		cache.saveList('u2', [group('g2')]);
		fire();
		cache.saveList('u1', [group('g3')]);
		cache.forget('u1');
		fire();
		expect(cache.read('u1')).toBeNull();
		expect(storage.data.has('chat.offline.u1')).toBe(false);
		expect(cache.read('u2')?.groups.map(g => g.id)).toEqual(['g2']);
	});

	it('bounds the counts: conversations, recently opened pages, their newest messages', () => {
		const storage = memoryStorage();
		const limits = { ...DEFAULT_LIMITS, groups: 3, pages: 2, messagesPerPage: 4 };
		const { cache, fire } = manualCache(storage, limits);
		cache.saveList(
			'u1',
			['a', 'b', 'c', 'd', 'e'].map(id => group(id))
		);
		const page = (groupId: string) => ({
			groupId,
			messages: Array.from({ length: 10 }, (_, i) => message(i + 1, { groupId }))
		});
		cache.savePages('u1', [page('a')]);
		cache.savePages('u1', [page('b')]);
		cache.savePages('u1', [page('c')]);
		cache.savePages('u1', [page('a')]);
		fire();
		const snapshot = new OfflineCache(() => storage).read('u1');
		expect(snapshot?.groups.map(g => g.id)).toEqual(['a', 'b', 'c']);
		expect(snapshot?.pages.map(p => p.groupId)).toEqual(['a', 'c']);
		expect(snapshot?.pages[0].messages.map(m => m.seq)).toEqual([7, 8, 9, 10]);
	});

	it('bounds the size: the oldest opened pages go first, then the tail of the list', () => {
		const big = 'x'.repeat(2_000);
		const snapshot: OfflineSnapshot = {
			...emptySnapshot(),
			groups: Array.from({ length: 8 }, (_, i) => group(`g${i}`)),
			pages: ['p0', 'p1', 'p2'].map(groupId => ({ groupId, messages: [message(1, { groupId, content: big })] }))
		};
		const full = serializeSnapshot(snapshot)!;
		const limit = (chars: number) => parseSnapshot(serializeSnapshot(snapshot, { ...DEFAULT_LIMITS, chars }))!;

		const noLastPage = limit(full.length - 1);
		expect(noLastPage.pages.map(p => p.groupId)).toEqual(['p0', 'p1']);
		expect(noLastPage.groups).toHaveLength(8);

		const listOnly = limit(JSON.stringify({ ...snapshot, pages: [] }).length);
		expect(listOnly.pages).toEqual([]);
		expect(listOnly.groups).toHaveLength(8);

		const shorter = limit(JSON.stringify({ ...snapshot, pages: [] }).length - 1);
		expect(shorter.groups.map(g => g.id)).toEqual(['g0', 'g1', 'g2', 'g3']);

		expect(serializeSnapshot(snapshot, { ...DEFAULT_LIMITS, chars: 10 })).toBeNull();
	});

	it('a snapshot that fits nowhere removes the old one instead of leaving it stale', () => {
		const storage = memoryStorage();
		storage.setItem('chat.offline.u1', serializeSnapshot({ ...emptySnapshot(), groups: [group('old')] })!);
		const { cache, fire } = manualCache(storage, { ...DEFAULT_LIMITS, chars: 10 });
		cache.saveList('u1', [group('g1')]);
		fire();
		expect(storage.data.has('chat.offline.u1')).toBe(false);
	});

	it('shrugs off broken, foreign or missing storage', () => {
		const storage = memoryStorage();
		storage.setItem('chat.offline.u1', '{not json');
		storage.setItem(
			'chat.offline.u2',
			JSON.stringify({ version: 99, savedAt: 'x', groups: [], pages: [], people: [] })
		);
		storage.setItem(
			'chat.offline.u3',
			JSON.stringify({
				version: 1,
				savedAt: '2026-01-01T00:00:00.000Z',
				groups: [group('g1'), { id: 7 }, null],
				pages: [{ groupId: 'g1', messages: [{ nope: true }] }],
				people: ['x']
			})
		);
		const cache = new OfflineCache(() => storage);
		expect(cache.read('u1')).toBeNull();
		expect(cache.read('u2')).toBeNull();
		const u3 = cache.read('u3');
		expect(u3?.groups.map(g => g.id)).toEqual(['g1']);
		expect(u3?.pages).toEqual([]);
		expect(u3?.people).toEqual([]);

		const none = new OfflineCache(() => null, { schedule: f => (f(), () => undefined) });
		none.saveList('u1', [group('g1')]);
		expect(new OfflineCache(() => null).read('u1')).toBeNull();

		const throwing = new OfflineCache(failingStorage, { schedule: f => (f(), () => undefined) });
		expect(() => throwing.saveList('u1', [group('g1')])).not.toThrow();
		expect(() => throwing.forget('u1')).not.toThrow();
		expect(throwing.read('u1')).toBeNull();
	});
});

describe('isUnreachable', () => {
	it('is a network failure or a gateway answering for a server that is down', () => {
		expect(isUnreachable(new TypeError('Failed to fetch'))).toBe(true);
		expect(isUnreachable(new ApiError(502, { message: 'Bad Gateway' }))).toBe(true);
		expect(isUnreachable(new ApiError(503, {}))).toBe(true);
		expect(isUnreachable(new ApiError(504, {}))).toBe(true);
		expect(isUnreachable(new ApiError(500, {}))).toBe(false);
		expect(isUnreachable(new ApiError(403, {}))).toBe(false);
		expect(isUnreachable(new Error('boom'))).toBe(false);
	});
});
