import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import { groupsApi, messagesApi } from '#lib/api/client.ts';
import type {
	Group,
	GroupBase,
	Message,
	NotificationSettings,
	ReadState,
	Receipt,
	User
} from '@scalable-chat/contract';
import { isQuiet } from '#lib/notifications/policy.ts';
import { isUnreachable, OFFLINE_NOTICE, offlineCache } from '#lib/offline/offline-cache.ts';
import {
	mergeGroup,
	mergeGroupBase,
	readMarkerOf,
	sortByActivity,
	unreadCount,
	withMessage,
	withReadSeq,
	withReadState
} from '#lib/conversations/summary.ts';
import { mentionCountAfterChange } from '#lib/conversations/mention-count.ts';
import { directPeerId } from '#lib/conversations/naming.ts';
import { advanceCursor, type ReceiptCursors } from '#lib/timeline/receipts.ts';
import { pick } from '#lib/timeline/merge.ts';
import { outbox } from '#lib/outbox/outbox-manager.svelte.ts';
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
	/** Conversations someone else took the user out of during this session: what to tell them. */
	removals = $state.raw<{ groupId: string; title: string }[]>([]);
	/** Whether the window is visible and focused (then the active conversation counts as seen). */
	windowActive = $state(true);

	#receipts = new SvelteMap<string, ReceiptCursors>();
	#seenSent = new Map<string, number>();
	#deliveredSent = new Map<string, number>();
	#fetching = new Set<string>();
	/** Unread mentions being asked of the server, per conversation; `again` when they changed meanwhile. */
	#recounts = new Map<string, { again: boolean }>();
	#active = $state<string | null>(null);
	/** Per open conversation: where its "New messages" divider stays for this visit. */
	#markers = new SvelteMap<string, number | null>();
	/** Marked unread during this visit: no read receipt until the user leaves it (or writes in it), as in Slack. */
	#keepUnread = new Set<string>();
	/**
	 * Conversations the user left themself, by id, with their title, until they are added again: their own
	 * removal is no news to them, and there is nothing to look up.
	 */
	#left = new SvelteMap<string, string>();
	/**
	 * Conversations the user is no longer in (left, or was removed from) this session. A change made before
	 * they went may be heard after it: only an event that adds the user back, or the server's own answer
	 * (a fresh list, a conversation looked up), brings one back.
	 */
	#gone = new Set<string>();

	/** The conversation on screen, if any. Leaving one ends its visit (divider, mark as unread). */
	get activeGroupId(): string | null {
		return this.#active;
	}

	set activeGroupId(groupId: string | null) {
		// Untracked: an effect that sets it must not come to depend on it.
		const left = untrack(() => this.#active);
		if (left === groupId) return;
		this.#active = groupId;
		if (left) {
			this.#markers.delete(left);
			this.#keepUnread.delete(left);
		}
	}

	/** The divider of the open conversation: after this seq, taken when the visit began (null: none). */
	unreadMarker(groupId: string): number | null {
		return this.#markers.get(groupId) ?? null;
	}

	/** Take the divider's place once per visit, before reading moves the cursor. */
	beginVisit(groupId: string): void {
		untrack(() => {
			const group = this.byId(groupId);
			if (group && !this.#markers.has(groupId)) this.#markers.set(groupId, readMarkerOf(group));
		});
	}

	removalOf(groupId: string): { groupId: string; title: string } | undefined {
		return this.removals.find(r => r.groupId === groupId);
	}

	/** The title of a conversation the user left themself (and was not added back to since). */
	leftTitle(groupId: string): string | undefined {
		return this.#left.get(groupId);
	}

	dismissRemoval(groupId: string): void {
		this.removals = this.removals.filter(r => r.groupId !== groupId);
	}

	byId(groupId: string): Group | undefined {
		return this.groups.find(g => g.id === groupId);
	}

	receipts(groupId: string): ReceiptCursors {
		return this.#receipts.get(groupId) ?? {};
	}

	/** The title badge: muted conversations and those set to "nothing" do not add to it. */
	get totalUnread(): number {
		const now = Date.now();
		return this.groups.reduce((sum, g) => sum + (isQuiet(g.notifications, now) ? 0 : g.unreadCount), 0);
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
		const epoch = session.epoch;
		try {
			const { items, next } = await groupsApi.list(PAGE_SIZE);
			// Asked before a sign-out (a slow answer that outlasted it): not the list of whoever is signed in now.
			if (session.epoch !== epoch) return;
			for (const g of items) this.#back(g.id);
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
			if (session.epoch === epoch) this.loadError = listError(error, this.groups.length > 0 || this.#restore());
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
		const epoch = session.epoch;
		try {
			const { items, next } = await groupsApi.list(PAGE_SIZE, cursor);
			if (session.epoch !== epoch) return;
			const current = new Map(this.groups.map(g => [g.id, g]));
			const fresh = items.filter(g => !current.has(g.id));
			for (const g of fresh) this.#back(g.id);
			this.groups = sortByActivity([...this.groups, ...fresh.map(g => mergeGroup(undefined, g))]);
			if (this.next === cursor) this.next = next;
			this.#lookUpPeople(fresh);
		} catch (error) {
			if (session.epoch === epoch) this.loadError = listError(error, true);
		} finally {
			this.loadingMore = false;
		}
	}

	/** A conversation as the server answered for it: the user is in it. */
	upsert(group: Group): Group {
		const known = this.byId(group.id);
		if (!known) this.#back(group.id);
		const merged = mergeGroup(known, group);
		this.groups = sortByActivity([...this.groups.filter(g => g.id !== group.id), merged]);
		this.#lookUpPeople([merged]);
		return merged;
	}

	/**
	 * A conversation from a live event; one we did not know gets its per-reader summary fetched. One the user
	 * is no longer in comes back only with an event that adds them (`addsMe`): any other is older news.
	 */
	upsertBase(base: GroupBase, { addsMe = false } = {}): void {
		const known = this.byId(base.id);
		if (!known && this.#gone.has(base.id)) {
			if (!addsMe) return;
			this.#back(base.id);
		}
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

	async leave(groupId: string): Promise<void> {
		// Before the request: the removal event may come before its answer.
		this.#noteLeft(groupId);
		const epoch = session.epoch;
		try {
			await groupsApi.leave(groupId, session.userId);
		} catch (error) {
			this.#left.delete(groupId);
			throw error;
		}
		if (session.epoch !== epoch) return;
		this.#gone.add(groupId);
		this.remove(groupId);
		outbox.abandon(groupId, this.#left.get(groupId) || null);
	}

	#noteLeft(groupId: string): void {
		const known = this.byId(groupId);
		if (!this.#left.has(groupId)) this.#left.set(groupId, known ? this.title(known) : '');
	}

	/**
	 * I was taken out of a conversation (or it went away). Taken out by myself (here, or on another of my
	 * devices: `actorId` is me) is leaving, no news; by someone else, I am told.
	 */
	#removed(groupId: string, actorId: string): void {
		const known = this.byId(groupId);
		if (actorId === session.userId) this.#noteLeft(groupId);
		if (!this.#left.has(groupId) && known)
			this.removals = [...this.removals.filter(r => r.groupId !== groupId), { groupId, title: this.title(known) }];
		this.#gone.add(groupId);
		this.remove(groupId);
		// What the user wrote there and has not gone out can no longer go: they are told, not left waiting.
		outbox.abandon(groupId, (known ? this.title(known) : this.#left.get(groupId)) || null);
	}

	/** In the conversation again: what was remembered of leaving it is over. */
	#back(groupId: string): void {
		this.#gone.delete(groupId);
		this.#left.delete(groupId);
		this.dismissRemoval(groupId);
	}

	/** A conversation not in the list (a link, a later page): 'missing' when it does not exist or is not mine. */
	async find(groupId: string): Promise<'found' | 'missing' | 'unreachable'> {
		const epoch = session.epoch;
		try {
			const group = await groupsApi.get(groupId);
			if (session.epoch !== epoch) return 'missing';
			this.upsert(group);
			return 'found';
		} catch (error) {
			return isUnreachable(error) ? 'unreachable' : 'missing';
		}
	}

	/** "Mark as unread" from `seq`: the list counts it unread, the divider moves there, and it stays so while open. */
	async markUnread(groupId: string, seq: number): Promise<void> {
		const { readSeq, unreadFrom } = realtime.connected
			? await realtime.emit('chat.message.unread', { groupId, seq })
			: await messagesApi.markUnread(groupId, seq);
		this.applyReadState({ groupId, readSeq, unreadFrom });
	}

	/** My read state changed (here, or on another of my devices). */
	applyReadState(state: ReadState): void {
		const group = this.byId(state.groupId);
		if (!group) return;
		if (state.unreadFrom != null) {
			this.#seenSent.delete(state.groupId);
			if (this.#active === state.groupId) {
				this.#keepUnread.add(state.groupId);
				this.#markers.set(state.groupId, state.unreadFrom - 1);
			}
		}
		this.#replace(withReadState(group, state));
	}

	/** Fold a stored message into its conversation's summary. */
	applyMessage(message: Message): void {
		// Writing in a conversation is reading it.
		if (message.senderId === session.userId) this.#keepUnread.delete(message.groupId);
		const group = this.byId(message.groupId);
		if (!group) {
			void this.fetch(message.groupId);
			return;
		}
		const next = withMessage(group, message, { myUserId: session.userId, visible: this.isVisible(group.id) });
		const recount = this.#recounts.get(group.id);
		if (recount && next.mentionCount !== group.mentionCount) recount.again = true;
		if (next.lastMessage !== group.lastMessage || next.lastSeq !== group.lastSeq || next.readSeq !== group.readSeq) {
			this.groups = sortByActivity(this.groups.map(g => (g.id === group.id ? next : g)));
		}
	}

	/**
	 * A change of a message (edit, delete, link preview): the summary shows it if it is the last message, and
	 * the unread mentions follow it; when only the earlier version could tell how, the server counts them.
	 */
	applyChange(message: Message, held?: Message): void {
		const group = this.byId(message.groupId);
		if (!group) return;
		const last = group.lastMessage;
		const isLast = last?.id === message.id;
		const previous = isLast ? last : held;
		// Not newer than what this client holds: nothing changes (the timeline's `pick` rule).
		if (previous && pick(previous, message) === previous) return;
		const mentionCount = mentionCountAfterChange(group, message, previous, session.userId);
		if (mentionCount === null || (mentionCount !== group.mentionCount && this.#recounts.has(group.id)))
			void this.#recount(group.id);
		const next = { ...group, lastMessage: isLast ? message : last, mentionCount: mentionCount ?? group.mentionCount };
		if (next.lastMessage !== last || next.mentionCount !== group.mentionCount) this.#replace(next);
	}

	/** The unread mentions as the server counts them; asked again when they change meanwhile (the answer may predate it). */
	async #recount(groupId: string): Promise<void> {
		const running = this.#recounts.get(groupId);
		if (running) {
			running.again = true;
			return;
		}
		const epoch = session.epoch;
		const recount = { again: true };
		this.#recounts.set(groupId, recount);
		try {
			while (recount.again) {
				recount.again = false;
				const group = await groupsApi.get(groupId);
				if (session.epoch === epoch && this.byId(groupId)) this.upsert(group);
			}
		} catch {
			// Unreachable, or not a member any more: the list loaded on reconnecting brings the count.
		} finally {
			this.#recounts.delete(groupId);
		}
	}

	/** My notification setting changed (here or on another device). */
	applyNotifications(groupId: string, notifications: NotificationSettings): void {
		const group = this.byId(groupId);
		if (group) this.#replace({ ...group, notifications });
	}

	setLastSeq(groupId: string, lastSeq: number): void {
		const group = this.byId(groupId);
		if (group && lastSeq > group.lastSeq)
			this.#replace({ ...group, lastSeq, unreadCount: unreadCount({ ...group, lastSeq }) });
	}

	async fetch(groupId: string): Promise<void> {
		if (this.#fetching.has(groupId)) return;
		this.#fetching.add(groupId);
		const goneBefore = this.#gone.has(groupId);
		const epoch = session.epoch;
		try {
			const group = await groupsApi.get(groupId);
			// Removed while it was asked, or signed out: the answer may be from before.
			if ((!goneBefore && this.#gone.has(groupId)) || session.epoch !== epoch) return;
			this.upsert(group);
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
		this.beginVisit(groupId);
		if (this.#keepUnread.has(groupId)) return;
		const seq = group.lastSeq;
		// The marker is cleared by the receipt (the server's rule): without a connection it stays until one.
		const clearing = group.unreadFrom != null;
		if (clearing && !realtime.connected) return;
		if (seq > group.readSeq || group.mentionCount || clearing) this.#replace(withReadSeq(group, seq));
		if (seq <= 0 || (!clearing && seq <= (this.#seenSent.get(groupId) ?? 0)) || !realtime.connected) return;
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
			realtime.on('group.created', g => this.upsertBase(g, { addsMe: true })),
			realtime.on('group.updated', g => this.upsertBase(g)),
			realtime.on('group.member.added', ({ userIds, group }) =>
				this.upsertBase(group, { addsMe: userIds.includes(session.userId) })
			),
			realtime.on('group.member.removed', ({ groupId, userId, actorId, group }) => {
				if (userId === session.userId) this.#removed(groupId, actorId);
				else this.upsertBase(group);
			}),
			realtime.on('group.read-state', state => this.applyReadState(state)),
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
		this.removals = [];
		this.#markers.clear();
		this.#keepUnread.clear();
		this.#left.clear();
		this.#gone.clear();
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
