import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { conversations } from './conversations-manager.svelte';
import { timelines } from './timelines-manager.svelte';

/** Stop paging a conversation that is this far behind; reloading its latest page is cheaper. */
const MAX_PAGES = 20;

/**
 * Catch up after (re)connecting: ask chat.sync for everything after the last seq we hold,
 * page while the server says there is more, and merge it like live messages.
 */
export async function syncMissed(): Promise<void> {
	let cursors = timelines.cursors();
	for (let page = 0; page < MAX_PAGES && Object.keys(cursors).length > 0; page++) {
		const { items } = await realtime.emit('chat.sync', { cursors }, 30_000);
		const next: Record<string, number> = {};
		for (const item of items) {
			conversations.setReceipts(item.groupId, item.receipts ?? []);
			timelines.receive(item.messages);
			conversations.setLastSeq(item.groupId, item.lastSeq);
			if (!item.hasMore) continue;
			if (timelines.isLoaded(item.groupId)) {
				const last = item.messages.at(-1);
				if (last) next[item.groupId] = last.seq;
			} else {
				// Nobody is reading it: the summary (last message, unread) is all we need.
				void conversations.fetch(item.groupId);
			}
		}
		cursors = next;
	}
}
