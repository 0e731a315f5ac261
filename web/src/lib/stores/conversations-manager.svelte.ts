import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import { groupsApi } from '#lib/api/client.ts';
import type { Group, GroupBase, Message, Receipt, User } from '@scalable-chat/contract';
import { isUnreachable, OFFLINE_NOTICE, offlineCache } from '#lib/offline/offline-cache.ts';
import { mergeGroup, mergeGroupBase, sortByActivity, withMessage, withReadSeq } from '#lib/conversations/summary.ts';
import { directPeerId } from '#lib/conversations/naming.ts';
import { advanceCursor, type ReceiptCursors } from '#lib/timeline/receipts.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { session } from './session-manager.svelte';
import { users } from './users-manager.svelte';
import { presence } from './presence-manager.svelte';

/** Conversations per page of the list; more are fetched as the list scrolls. */
const PAGE_SIZE = 30;

/** The conversation list: summaries, unread counts, receipt cursors, what is on screen. */
class ConversationsManager {
	groups = $state.raw<Group[]>([]);
	loaded = $state(false);
	/** Cursor of the next page of the list; null when everything is loaded. */
	next = $state<string | null>(null);
	loadingMore = $state(false);
	/** Why the list could not be loaded, in plain language. */
	loadError = $state<string | null>(null);
	/** When the list on screen is the one kept from last time (server unreachable): when it was saved. */
	staleSince = $state<string | null>(null);
	/** The conversation on screen, if any. */
	activeGroupId = $state<string | null>(null);
	/** Whether the window is visible and focused (then the active conversation counts as seen). */
	windowActive = $state(true);

	#receipts = new SvelteMap<string, ReceiptCursors>();
	#seenSent = new Map<string, number>();
	#deliveredSent = new Map<string, number>();
	#fetching = new Set<string>();

	byId(groupId: string): Group | undefined {
		return this.groups.find(g => g.id === groupId);
	}

	receipts(groupId: string): ReceiptCursors {
		return this.#receipts.get(groupId) ?? {};
	}

	get totalUnread(): number {
		return this.groups.reduce((sum, g) => sum + g.unreadCount, 0);
	}

	title(group: Group): string {
		const peer = directPeerId(group, session.userId);
		if (peer) return users.displayName(peer);
		return group.name || 'Untitled group';
	}

	isVisible(groupId: string): boolean {
		return this.activeGroupId === groupId && this.windowActive;
	}

	/** The first page, replacing the list (later pages come with loadMore). */
	async load(): Promise<void> {
		try {
			const { items, next } = await groupsApi.list(PAGE_SIZE);
			const incoming = new Set(items.map(g => g.id));
			// What was kept from last time is replaced, not merged: the server knows better.
			const current = new Map(this.staleSince ? [] : this.groups.map(g => [g.id, g]));
			this.groups = sortByActivity(items.map(g => mergeGroup(current.get(g.id), g)));
			for (const id of current.keys()) if (!incoming.has(id)) this.#receipts.delete(id);
			this.next = next;
			this.loaded = true;
			this.loadError = null;
			this.staleSince = null;
			this.#lookUpPeople(this.groups);
		} catch (error) {
			this.loadError = listError(error, this.groups.length > 0 || this.#restore());
		}
	}

	/** Show the list kept from last time, if there is one and nothing better is on screen. */
	#restore(): boolean {
		if (this.loaded || this.groups.length) return false;
		const snapshot = offlineCache.read(session.userId);
		if (!snapshot?.groups.length) return false;
		for (const person of snapshot.people) if (!users.get(person.id)) users.put(person);
		this.groups = sortByActivity(snapshot.groups);
		this.staleSince = snapshot.savedAt;
		return true;
	}

	/**
	 * The next page. Conversations whose activity changed meanwhile have moved above the cursor and are
	 * already here (live events), so merging never loses or repeats one.
	 */
	async loadMore(): Promise<void> {
		const cursor = this.next;
		if (!cursor || this.loadingMore) return;
		this.loadingMore = true;
		try {
			const { items, next } = await groupsApi.list(PAGE_SIZE, cursor);
			const current = new Map(this.groups.map(g => [g.id, g]));
			const fresh = items.filter(g => !current.has(g.id));
			this.groups = sortByActivity([...this.groups, ...fresh.map(g => mergeGroup(undefined, g))]);
			if (this.next === cursor) this.next = next;
			this.#lookUpPeople(fresh);
		} catch (error) {
			this.loadError = listError(error, true);
		} finally {
			this.loadingMore = false;
		}
	}

	upsert(group: Group): Group {
		const merged = mergeGroup(this.byId(group.id), group);
		this.groups = sortByActivity([...this.groups.filter(g => g.id !== group.id), merged]);
		this.#lookUpPeople([merged]);
		return merged;
	}

	/** A conversation from a live event; one we did not know gets its per-reader summary fetched. */
	upsertBase(base: GroupBase): void {
		const known = this.byId(base.id);
		const merged = mergeGroupBase(known, base);
		this.groups = sortByActivity([...this.groups.filter(g => g.id !== base.id), merged]);
		this.#lookUpPeople([merged]);
		// Added to a conversation with history: the event does not say what we have not read.
		if (!known) void this.fetch(base.id);
	}

	remove(groupId: string): void {
		this.groups = this.groups.filter(g => g.id !== groupId);
		this.#receipts.delete(groupId);
	}

	/** Fold a stored message into its conversation's summary. */
	applyMessage(message: Message): void {
		const group = this.byId(message.groupId);
		if (!group) {
			void this.fetch(message.groupId);
			return;
		}
		const next = withMessage(group, message, { myUserId: session.userId, visible: this.isVisible(group.id) });
		if (next.lastMessage !== group.lastMessage || next.lastSeq !== group.lastSeq || next.readSeq !== group.readSeq) {
			this.groups = sortByActivity(this.groups.map(g => (g.id === group.id ? next : g)));
		}
	}

	setLastSeq(groupId: string, lastSeq: number): void {
		const group = this.byId(groupId);
		if (group && lastSeq > group.lastSeq) this.#replace({ ...group, lastSeq, unreadCount: lastSeq - group.readSeq });
	}

	async fetch(groupId: string): Promise<void> {
		if (this.#fetching.has(groupId)) return;
		this.#fetching.add(groupId);
		try {
			this.upsert(await groupsApi.get(groupId));
		} catch {
			// Not a member (any more): nothing to show.
		} finally {
			this.#fetching.delete(groupId);
		}
	}

	setReceipts(groupId: string, list: Receipt[]): void {
		let cursors = this.receipts(groupId);
		for (const c of list) {
			if (c.userId !== session.userId) cursors = advanceCursor(cursors, c.userId, c);
		}
		if (cursors !== this.receipts(groupId)) this.#receipts.set(groupId, cursors);
	}

	advanceReceipt(groupId: string, userId: string, patch: { deliveredSeq?: number; readSeq?: number }): void {
		if (userId === session.userId) {
			// Read on another of my devices.
			const group = this.byId(groupId);
			if (group && patch.readSeq) this.#replace(withReadSeq(group, patch.readSeq));
			return;
		}
		const current = this.receipts(groupId);
		const next = advanceCursor(current, userId, patch);
		if (next !== current) this.#receipts.set(groupId, next);
	}

	/** Tell senders their messages reached this device. */
	markDelivered(groupId: string, seq: number): void {
		if (seq <= (this.#deliveredSent.get(groupId) ?? 0) || !realtime.connected) return;
		this.#deliveredSent.set(groupId, seq);
		realtime.emit('chat.message.delivered', { groupId, seq }).catch(() => this.#deliveredSent.delete(groupId));
	}

	/** Mark everything in the conversation as read, if the user can actually see it. */
	markSeen(groupId: string): void {
		const group = this.byId(groupId);
		if (!group || !this.isVisible(groupId)) return;
		const seq = group.lastSeq;
		if (seq > group.readSeq) this.#replace(withReadSeq(group, seq));
		if (seq <= 0 || seq <= (this.#seenSent.get(groupId) ?? 0) || !realtime.connected) return;
		this.#seenSent.set(groupId, seq);
		realtime.emit('chat.message.seen', { groupId, seq }).catch(() => this.#seenSent.delete(groupId));
	}

	async createDirect(userId: string): Promise<Group> {
		return this.upsert(await groupsApi.create({ name: 'Direct message', memberIds: [userId], type: 'direct' }));
	}

	async createGroup(name: string, memberIds: string[]): Promise<Group> {
		return this.upsert(await groupsApi.create({ name, memberIds, type: 'group' }));
	}

	attach(): () => void {
		const updateWindow = () => {
			this.windowActive = document.visibilityState === 'visible' && document.hasFocus();
			if (this.activeGroupId) this.markSeen(this.activeGroupId);
		};
		updateWindow();
		window.addEventListener('focus', updateWindow);
		window.addEventListener('blur', updateWindow);
		document.addEventListener('visibilitychange', updateWindow);
		const flushCache = () => offlineCache.flush();
		window.addEventListener('pagehide', flushCache);
		const stopRemembering = $effect.root(() => {
			$effect(() => {
				// Only a list the server gave (and live events folded into it) is worth keeping.
				if (!this.loaded || this.staleSince || session.status !== 'authenticated') return;
				const groups = this.groups;
				const userId = session.userId;
				const people = this.#namedPeople(groups);
				untrack(() => offlineCache.saveList(userId, groups, people));
			});
		});

		const offs = [
			realtime.on('group.created', g => this.upsertBase(g)),
			realtime.on('group.updated', g => this.upsertBase(g)),
			realtime.on('group.member.added', ({ group }) => this.upsertBase(group)),
			realtime.on('group.member.removed', ({ groupId, userId, group }) => {
				if (userId === session.userId) this.remove(groupId);
				else this.upsertBase(group);
			}),
			realtime.on('chat.message.delivered', ({ groupId, userId, seq }) =>
				this.advanceReceipt(groupId, userId, { deliveredSeq: seq })
			),
			realtime.on('chat.message.seen', ({ groupId, userId, seq }) =>
				this.advanceReceipt(groupId, userId, { readSeq: seq })
			)
		];
		return () => {
			window.removeEventListener('focus', updateWindow);
			window.removeEventListener('blur', updateWindow);
			document.removeEventListener('visibilitychange', updateWindow);
			window.removeEventListener('pagehide', flushCache);
			stopRemembering();
			for (const off of offs) off();
		};
	}

	clear(): void {
		this.groups = [];
		this.loaded = false;
		this.loadError = null;
		this.staleSince = null;
		this.activeGroupId = null;
		this.#receipts.clear();
		this.#seenSent.clear();
		this.#deliveredSent.clear();
	}

	#replace(group: Group): void {
		this.groups = this.groups.map(g => (g.id === group.id ? group : g));
	}

	/** The profiles a cached list needs to read well offline: direct peers and last senders. */
	#namedPeople(groups: Group[]): User[] {
		const ids = groups.flatMap(g => [directPeerId(g, session.userId), g.lastMessage?.senderId]);
		return [...new Set(ids)].map(id => (id ? users.get(id) : undefined)).filter((u): u is User => Boolean(u));
	}

	#lookUpPeople(groups: Group[]): void {
		const ids = groups.flatMap(g => g.members.map(m => m.userId));
		users.ensure(ids);
		const peers = groups.map(g => directPeerId(g, session.userId)).filter((id): id is string => Boolean(id));
		void presence.query(peers.filter(id => !presence.get(id)));
	}
}

/** A failed list load in plain language; `showingOld` when what the user had stays on screen. */
function listError(error: unknown, showingOld: boolean): string {
	if (isUnreachable(error))
		return showingOld ? OFFLINE_NOTICE : "Can't reach the server. Your conversations will load when it is back.";
	return showingOld
		? "Couldn't load your conversations. Showing what you had."
		: "Couldn't load your conversations. They will load when you reconnect.";
}

export const conversations = new ConversationsManager();
