import type { SyncResult } from '@scalable-chat/contract';
import { ApiError } from '#lib/api/errors.ts';
import { offlineCache } from '#lib/offline/offline-cache.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { conversations } from './conversations-manager.svelte';
import { session } from './session-manager.svelte';
import { timelines } from './timelines-manager.svelte';

/** Stop paging a conversation that is this far behind; reloading its latest page is cheaper. */
const MAX_PAGES = 20;

async function syncRound(cursors: Record<string, number>, since: string | null): Promise<SyncResult> {
	if (!since) return realtime.emit('chat.sync', { cursors }, 30_000);
	try {
		return await realtime.emit('chat.sync', { cursors, since }, 30_000);
	} catch (error) {
		// A token the server no longer accepts (another account's, or from before a reset): start over without it.
		if (error instanceof ApiError && 'since' in error.fieldErrors)
			return realtime.emit('chat.sync', { cursors }, 30_000);
		throw error;
	}
}

/** Runs `round` noting the conversations whose read state of mine changed meanwhile (live, so newer than its answer). */
async function whileHearingReadStates<T>(round: (touched: Set<string>) => Promise<T>): Promise<T> {
	const touched = new Set<string>();
	const off = [
		realtime.on('group.read-state', ({ groupId }) => touched.add(groupId)),
		realtime.on('chat.message.incoming', message => {
			if (message.senderId === session.userId) touched.add(message.groupId);
		})
	];
	try {
		return await round(touched);
	} finally {
		off.forEach(stop => stop());
	}
}

/**
 * Catch up after (re)connecting: ask chat.sync for everything after the last seq we hold and, with the
 * token of the previous sync (kept with the offline copy, so a reload continues from it), every change to
 * the messages we hold; page while the server says there is more, and apply it like live events.
 */
export async function syncMissed(): Promise<void> {
	const userId = session.userId;
	const epoch = session.epoch;
	let since = offlineCache.syncToken(userId);
	let cursors = timelines.cursors();
	for (let page = 0; page < MAX_PAGES && Object.keys(cursors).length > 0; page++) {
		const { items, syncToken, touched } = await whileHearingReadStates(touched =>
			syncRound(cursors, since).then(result => ({ ...result, touched }))
		);
		// Asked for a sign-in that ended meanwhile: nothing of it goes into the next one.
		if (session.epoch !== epoch) return;
		const next: Record<string, number> = {};
		for (const item of items) {
			conversations.setReceipts(item.groupId, item.receipts ?? []);
			// My read state as another device left it, unless a newer change of it arrived while the sync was on its way.
			if (item.readState && !touched.has(item.groupId))
				conversations.applyReadState({ groupId: item.groupId, ...item.readState });
			timelines.receive(item.messages);
			timelines.applyChanged(item.changed ?? []);
			conversations.setLastSeq(item.groupId, item.lastSeq);
			if (!item.hasMore) continue;
			if (timelines.isLoaded(item.groupId)) {
				// More changes may be waiting with no new messages: the cursor stays.
				next[item.groupId] = item.messages.at(-1)?.seq ?? cursors[item.groupId];
			} else {
				// Nobody is reading it: the summary (last message, unread) is all we need.
				void conversations.fetch(item.groupId);
			}
		}
		since = syncToken;
		offlineCache.saveSyncToken(userId, syncToken);
		cursors = next;
	}
}
