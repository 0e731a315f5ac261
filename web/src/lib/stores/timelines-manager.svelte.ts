import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import { messagesApi } from '#lib/api/client.ts';
import { errorMessage } from '#lib/api/errors.ts';
import type { Asset, Message, ReactionsEvent, User } from '@scalable-chat/contract';
import { ApiError } from '#lib/api/errors.ts';
import { type CachedPage, isUnreachable, OFFLINE_NOTICE, offlineCache } from '#lib/offline/offline-cache.ts';
import {
	applyChanges,
	applyStored,
	contiguousCursor,
	emptyTimeline,
	updateMessage,
	type Timeline
} from '#lib/timeline/merge.ts';
import { toggleReaction, withReactions } from '#lib/timeline/reactions.ts';
import { readBySenders } from '#lib/timeline/receipts.ts';
import { systemLineUserIds } from '#lib/timeline/system-lines.ts';
import { outbox } from '#lib/outbox/outbox-manager.svelte.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { conversations } from './conversations-manager.svelte';
import { session } from './session-manager.svelte';
import { users } from './users-manager.svelte';

const PAGE_SIZE = 50;
/** The server's largest history page. */
const MAX_PAGE = 100;
/** A jump fills the gap to the loaded window when it is at most this many pages; further away it replaces the window. */
const MAX_GAP_PAGES = 10;

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
	/** The loaded window ends before the conversation does (a jump far back): newer messages are not shown. */
	hasNewer = $state(false);
	/** The message to bring into view and highlight (a jump), and when it was asked for. */
	focus = $state<{ seq: number; at: number } | null>(null);

	constructor(groupId: string) {
		this.groupId = groupId;
	}
}

/** All message timelines: history paging, live and synced messages; sends go through the outbox. */
class TimelinesManager {
	#timelines = new SvelteMap<string, ConversationTimeline>();
	/** Conversations in the order they were last opened, most recent first (what the cache keeps). */
	#recent = $state.raw<string[]>([]);
	/** The first load of each conversation being opened (a jump waits for it, so the two pages do not leave a gap). */
	#loading = new Map<string, Promise<void>>();

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
		if (!t.loaded && !this.#loading.has(groupId)) {
			const loading = this.#loadLatest(t).finally(() => this.#loading.delete(groupId));
			this.#loading.set(groupId, loading);
		}
		if (this.#recent[0] !== groupId)
			this.#recent = [groupId, ...this.#recent.filter(id => id !== groupId)].slice(0, 10);
		return t;
	}

	/** Where chat.sync should resume, per conversation we know of. */
	cursors(): Record<string, number> {
		const cursors: Record<string, number> = {};
		for (const group of conversations.groups) {
			const t = this.#timelines.get(group.id);
			const held = t?.loaded && !t.hasNewer ? contiguousCursor(t.timeline.messages) : null;
			cursors[group.id] = held ?? group.lastSeq;
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
			// A window that ends before the conversation does takes no new messages (they would open a gap).
			if (t?.hasNewer) t.timeline = applyChanges(t.timeline, list);
			else if (t) t.timeline = applyStored(t.timeline, list);
			users.ensure(list.flatMap(senderAndNamed));
			let newest = list[0];
			for (const m of list) if (m.seq > newest.seq) newest = m;
			conversations.applyMessage(newest);
			const fromOthers = list.filter(m => m.senderId !== session.userId);
			if (fromOthers.length) conversations.markDelivered(groupId, Math.max(...fromOthers.map(m => m.seq)));
			for (const [senderId, seq] of readBySenders(fromOthers))
				conversations.advanceReceipt(groupId, senderId, { readSeq: seq });
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
			if (this.#timelines.get(groupId) !== t) return;
			t.hasOlder = items.length >= PAGE_SIZE && items[0]?.seq > 1;
			t.timeline = applyStored(t.timeline, items);
			users.ensure(items.flatMap(senderAndNamed));
		} catch (error) {
			t.error = errorMessage(error);
		} finally {
			t.loadingOlder = false;
		}
	}

	/** Queue a message: it shows as pending at once and goes out as soon as it can. */
	send(groupId: string, content: string, attachments: Asset[] = [], replyTo: Message | null = null): void {
		this.open(groupId);
		const quote = replyTo && {
			id: replyTo.id,
			seq: replyTo.seq,
			senderId: replyTo.senderId,
			excerpt: replyTo.content.slice(0, 140)
		};
		outbox.enqueue(groupId, content, attachments, quote);
	}

	async delete(message: Message): Promise<void> {
		this.applyChanged([await messagesApi.remove(message.id)]);
	}

	/** Changes to messages we may hold (edits, deletes, reactions, excerpts): replaced by id, never inserted. */
	applyChanged(messages: Message[]): void {
		for (const m of messages) {
			const t = this.#timelines.get(m.groupId);
			// The copy it replaces tells whether it mentioned me before (the unread mentions follow it).
			const previous = t?.timeline.messages.find(held => held.id === m.id);
			if (t) t.timeline = applyChanges(t.timeline, [m]);
			conversations.applyChange(m, previous);
		}
		users.ensure(messages.flatMap(senderAndNamed));
	}

	applyReactions(event: ReactionsEvent): void {
		const t = this.#timelines.get(event.groupId);
		if (t) t.timeline = updateMessage(t.timeline, event.messageId, m => withReactions(m, event, session.userId));
		users.ensure(event.reactions.flatMap(r => r.userIds));
	}

	/** Replace the text of one's own message; rejects with the server's refusal (edit window passed, …). */
	async edit(message: Message, content: string): Promise<void> {
		const edited = realtime.connected
			? (await realtime.emit('chat.message.edit', { messageId: message.id, content })).message
			: await messagesApi.edit(message.id, content);
		this.applyChanged([edited]);
	}

	/** Toggle one of my reactions: shown at once, undone if the server refuses. */
	async react(message: Message, emoji: string, on: boolean): Promise<void> {
		const me = session.userId;
		const change = (turnOn: boolean) => {
			const t = this.#timelines.get(message.groupId);
			if (t)
				t.timeline = updateMessage(t.timeline, message.id, m => ({
					...m,
					reactions: toggleReaction(m.reactions, emoji, turnOn, me)
				}));
		};
		change(on);
		try {
			const event = realtime.connected
				? await realtime.emit('chat.message.react', { messageId: message.id, emoji, on })
				: await messagesApi.react(message.id, emoji, on);
			this.applyReactions(event);
		} catch (error) {
			change(!on);
			throw error;
		}
	}

	/**
	 * Bring one message of a conversation into the loaded window and ask the timeline to show it: the page
	 * around it, then the messages between it and what was loaded (or, when that is far, a window of its own).
	 */
	async jumpTo(groupId: string, seq: number): Promise<void> {
		const t = this.open(groupId);
		await this.#loading.get(groupId);
		const held = t.timeline.messages;
		if (!held.some(m => m.seq === seq)) {
			const page = await this.#pageAround(groupId, seq);
			users.ensure(page.flatMap(senderAndNamed));
			const first = held[0]?.seq;
			const pageEnd = page.at(-1)?.seq ?? seq;
			const beyondWindow = t.hasNewer && seq > (held.at(-1)?.seq ?? 0);
			if (first === undefined || !t.loaded || (!beyondWindow && pageEnd + 1 >= first)) {
				t.timeline = applyStored(t.timeline, page);
			} else if (!beyondWindow && first - pageEnd <= MAX_GAP_PAGES * MAX_PAGE) {
				let gap: Message[] = [];
				for (let after = pageEnd; after < first - 1;) {
					const { items } = await messagesApi.page(groupId, { after, limit: Math.min(MAX_PAGE, first - 1 - after) });
					if (!items.length) break;
					gap = gap.concat(items);
					after = items.at(-1)!.seq;
				}
				users.ensure(gap.flatMap(senderAndNamed));
				t.timeline = applyStored(t.timeline, [...page, ...gap]);
			} else {
				t.timeline = applyStored(emptyTimeline(), page);
				t.hasNewer = pageEnd < (conversations.byId(groupId)?.lastSeq ?? pageEnd);
			}
			t.hasOlder = (t.timeline.messages[0]?.seq ?? 1) > 1;
		}
		t.focus = { seq, at: Date.now() };
	}

	/** Back from a window far in history to the latest messages. */
	async reloadLatest(groupId: string): Promise<void> {
		const t = this.#timelines.get(groupId);
		if (!t) return;
		t.hasNewer = false;
		t.timeline = emptyTimeline();
		t.loaded = false;
		this.open(groupId);
		await this.#loading.get(groupId);
	}

	async #pageAround(groupId: string, seq: number): Promise<Message[]> {
		try {
			const { items } = await messagesApi.page(groupId, { around: seq, limit: PAGE_SIZE });
			if (items.some(m => m.seq === seq)) return items;
		} catch (error) {
			if (!(error instanceof ApiError) || error.status !== 422) throw error;
		}
		// A server without `around` refuses it (or answers its latest page): the page after seq − half is the same window.
		const after = Math.max(0, seq - Math.floor(PAGE_SIZE / 2) - 1);
		return (await messagesApi.page(groupId, { after, limit: PAGE_SIZE })).items;
	}

	drop(groupId: string): void {
		this.#timelines.delete(groupId);
	}

	attach(): () => void {
		const offs = [
			realtime.on('chat.message.incoming', m => this.receive([m])),
			realtime.on('chat.message.deleted', m => this.applyChanged([m])),
			realtime.on('chat.message.updated', m => this.applyChanged([m])),
			realtime.on('chat.message.reactions', event => this.applyReactions(event)),
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
			// Cleared meanwhile (a sign-out, maybe another user's sign-in since): the page is not for what is shown now.
			if (this.#timelines.get(t.groupId) !== t) return;
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
				users.ensure(kept.flatMap(senderAndNamed));
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

/** The people a message names: its sender, whom it replies to, and a system line's. */
function senderAndNamed(m: Message): string[] {
	const ids = [m.senderId];
	if (m.replyTo) ids.push(m.replyTo.senderId);
	if (m.system) ids.push(...systemLineUserIds(m.system, m.senderId));
	return ids;
}

export const timelines = new TimelinesManager();
