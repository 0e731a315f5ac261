import { drafts } from '#lib/drafts/drafts.ts';
import { offlineCache } from '#lib/offline/offline-cache.ts';
import { outbox } from '#lib/outbox/outbox-manager.svelte.ts';

/** What the browser keeps of a user (drafts, the offline copy, unsent messages) goes when their sign-in ends. */
export function forgetUser(userId: string): void {
	drafts.forget(userId);
	offlineCache.forget(userId);
	void outbox.purge(userId);
}
