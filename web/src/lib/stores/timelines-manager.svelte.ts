import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import { messagesApi } from '#lib/api/client.ts';
import { errorMessage } from '#lib/api/errors.ts';
import type { Asset, Message, User } from '@scalable-chat/contract';
import { type CachedPage, isUnreachable, OFFLINE_NOTICE, offlineCache } from '#lib/offline/offline-cache.ts';
import { applyStored, contiguousCursor, emptyTimeline, type Timeline } from '#lib/timeline/merge.ts';
import { outbox } from '#lib/outbox/outbox-manager.svelte.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { conversations } from './conversations-manager.svelte';
import { session } from './session-manager.svelte';
import { users } from './users-manager.svelte';

const PAGE_SIZE = 50;

/** The loaded part of one conversation's history. */
export class ConversationTimeline {
	readonly groupId: string;
	timeline = $state.raw<Timeline>(emptyTimeline());
	/** Whether older messages exist on the server that are not loaded. */
	hasOlder = $state(true);
	loadingOlder = $state(false);
	loaded = $state(false);
	error = $state<string | null>(null);
	/** Showing the page kept from last time because the latest one could not be loaded. */
	stale = $state(false);

	constructor(groupId: string) {
		this.groupId = groupId;
	}
}

/** All message timelines: history paging, live and synced messages; sends go through the outbox. */
class TimelinesManager {
	#timelines = new SvelteMap<string, ConversationTimeline>();
	/** Conversations in the order they were last opened, most recent first (what the cache keeps). */
	#recent = $state.raw<string[]>([]);

	/** The timeline if it was opened; never creates one (safe inside templates and deriveds). */
	peek(groupId: string): ConversationTimeline | undefined {
		return this.#timelines.get(groupId);
	}

	/** Get or create a conversation's timeline and load its latest page once. */
	open(groupId: string): ConversationTimeline {
		let t = this.#timelines.get(groupId);
		if (!t) {
			t = new ConversationTimeline(groupId);
			this.#timelines.set(groupId, t);
		}
		if (!t.loaded) void this.#loadLatest(t);
		if (this.#recent[0] !== groupId)
			this.#recent = [groupId, ...this.#recent.filter(id => id !== groupId)].slice(0, 10);
		return t;
	}

	/** Where chat.sync should resume, per conversation we know of. */
	cursors(): Record<string, number> {
		const cursors: Record<string, number> = {};
		for (const group of conversations.groups) {
			const t = this.#timelines.get(group.id);
			cursors[group.id] = (t?.loaded ? contiguousCursor(t.timeline.messages) : null) ?? group.lastSeq;
		}
		return cursors;
	}

	isLoaded(groupId: string): boolean {
		return this.#timelines.get(groupId)?.loaded ?? false;
	}

	/** Every stored message reaches the client through here: live, synced, acked, paged. */
	receive(messages: Message[]): void {
		if (messages.length === 0) return;
		outbox.confirm(messages);
		// eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local grouping, not state
		const byGroup = new Map<string, Message[]>();
		for (const m of messages) {
			const list = byGroup.get(m.groupId);
			if (list) list.push(m);
			else byGroup.set(m.groupId, [m]);
		}
		for (const [groupId, list] of byGroup) {
			const t = this.#timelines.get(groupId);
			if (t) t.timeline = applyStored(t.timeline, list);
			users.ensure(list.map(m => m.senderId));
			let newest = list[0];
			for (const m of list) if (m.seq > newest.seq) newest = m;
			conversations.applyMessage(newest);
			const fromOthers = list.filter(m => m.senderId !== session.userId);
			if (fromOthers.length) conversations.markDelivered(groupId, Math.max(...fromOthers.map(m => m.seq)));
			conversations.markSeen(groupId);
		}
	}

	async loadOlder(groupId: string): Promise<void> {
		const t = this.#timelines.get(groupId);
		if (!t || !t.loaded || t.loadingOlder || !t.hasOlder) return;
		const first = t.timeline.messages[0];
		if (!first) return;
		t.loadingOlder = true;
		try {
			const { items } = await messagesApi.page(groupId, { before: first.seq, limit: PAGE_SIZE });
			t.hasOlder = items.length >= PAGE_SIZE && items[0]?.seq > 1;
			t.timeline = applyStored(t.timeline, items);
			users.ensure(items.map(m => m.senderId));
		} catch (error) {
			t.error = errorMessage(error);
		} finally {
			t.loadingOlder = false;
		}
	}

	/** Queue a message: it shows as pending at once and goes out as soon as it can. */
	send(groupId: string, content: string, attachments: Asset[] = []): void {
		this.open(groupId);
		outbox.enqueue(groupId, content, attachments);
	}

	async delete(message: Message): Promise<void> {
		this.receive([await messagesApi.remove(message.id)]);
	}

	drop(groupId: string): void {
		this.#timelines.delete(groupId);
	}

	attach(): () => void {
		const offs = [
			realtime.on('chat.message.incoming', m => this.receive([m])),
			realtime.on('chat.message.deleted', m => this.receive([m])),
			realtime.on('group.member.removed', ({ groupId, userId }) => {
				if (userId === session.userId) this.drop(groupId);
			}),
			outbox.onStored(m => this.receive([m])),
			$effect.root(() => {
				$effect(() => {
					if (session.status !== 'authenticated') return;
					const pages: CachedPage[] = [];
					for (const groupId of this.#recent) {
						const t = this.#timelines.get(groupId);
						if (t?.loaded && !t.stale) pages.push({ groupId, messages: t.timeline.messages });
					}
					if (!pages.length) return;
					const userId = session.userId;
					const senders = new Set(pages.flatMap(p => p.messages.slice(-50).map(m => m.senderId)));
					const people = [...senders].map(id => users.get(id)).filter((u): u is User => Boolean(u));
					untrack(() => offlineCache.savePages(userId, pages, people));
				});
			})
		];
		return () => offs.forEach(off => off());
	}

	clear(): void {
		this.#timelines.clear();
		this.#recent = [];
	}

	async #loadLatest(t: ConversationTimeline): Promise<void> {
		try {
			const { items } = await messagesApi.page(t.groupId, { limit: PAGE_SIZE });
			t.hasOlder = items.length >= PAGE_SIZE && items[0]?.seq > 1;
			// The page kept from last time is replaced, not merged (messages deleted meanwhile go).
			t.timeline = applyStored(t.stale ? emptyTimeline() : t.timeline, items);
			t.loaded = true;
			t.stale = false;
			t.error = null;
			this.receive(items);
		} catch (error) {
			const kept = t.timeline.messages.length ? null : offlineCache.page(session.userId, t.groupId);
			if (kept?.length) {
				t.timeline = applyStored(t.timeline, kept);
				t.stale = true;
				users.ensure(kept.map(m => m.senderId));
			}
			const showingOld = t.stale || t.timeline.messages.length > 0;
			if (isUnreachable(error)) {
				t.error = showingOld ? OFFLINE_NOTICE : "Can't reach the server. Messages will load when it is back.";
			} else {
				t.error = errorMessage(error);
			}
		}
	}
}

export const timelines = new TimelinesManager();
