import { describe, expect, it, vi } from 'vitest';
import type { SyncResult } from '@scalable-chat/contract';

const session = vi.hoisted(() => ({ userId: 'user-A', epoch: 0 }));
const answer = vi.hoisted(() => ({ next: null as Promise<SyncResult> | null }));
vi.mock('./session-manager.svelte', () => ({ session }));
vi.mock('#lib/realtime/realtime.svelte.ts', () => ({
	realtime: { on: () => () => undefined, emit: () => answer.next }
}));
const conversations = vi.hoisted(() => ({
	setReceipts: vi.fn(),
	applyReadState: vi.fn(),
	setLastSeq: vi.fn(),
	fetch: vi.fn()
}));
vi.mock('./conversations-manager.svelte', () => ({ conversations }));
const timelines = vi.hoisted(() => ({
	cursors: () => ({ g1: 3 }),
	receive: vi.fn(),
	applyChanged: vi.fn(),
	isLoaded: () => true
}));
vi.mock('./timelines-manager.svelte', () => ({ timelines }));
const offlineCache = vi.hoisted(() => ({ syncToken: () => null, saveSyncToken: vi.fn() }));
vi.mock('#lib/offline/offline-cache.ts', () => ({ offlineCache }));

const { syncMissed } = await import('./sync.ts');

describe('catching up after a reconnect', () => {
	it('an answer that comes after a sign-out is not applied to whoever signed in next', async () => {
		let deliver = (_result: SyncResult) => undefined as void;
		answer.next = new Promise(resolve => (deliver = resolve));
		const syncing = syncMissed();
		session.epoch++;
		session.userId = 'user-B';
		deliver({
			items: [{ groupId: 'g1', messages: [], lastSeq: 9, hasMore: false, receipts: [] }],
			syncToken: 'token-of-A'
		} as unknown as SyncResult);
		await syncing;
		expect(timelines.receive).not.toHaveBeenCalled();
		expect(conversations.setLastSeq).not.toHaveBeenCalled();
		expect(offlineCache.saveSyncToken).not.toHaveBeenCalled();
	});
});
