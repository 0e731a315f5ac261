import type { Asset, Message, ReplyRef } from '@scalable-chat/contract';
import { messagesApi } from '#lib/api/client.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { newClientMessageId } from '#lib/timeline/client-message-id.ts';
import {
	afterFailure,
	afterReconnect,
	afterReload,
	classifySendError,
	confirmed,
	dueEntries,
	newEntry,
	nextWakeAt,
	outgoing,
	pendingIn,
	retried,
	undeliverable,
	withUndelivered,
	type OutboxEntry,
	type PendingMessage,
	type Undelivered
} from './outbox-queue';
import { openOutboxStore, type OutboxStore } from './outbox-store';

/** The user's other tabs share the stored queue: each tells the others what left it (sent, cancelled). */
const CHANNEL = 'chat-outbox';
type OutboxNews = { gone: string[] };

/**
 * Every message the user sends goes through here and stays (in IndexedDB) until the server has
 * stored it: sent at once when connected, otherwise when the connection returns, in order per
 * conversation, always with the same clientMessageId, so a resend can never make a second copy.
 */
class OutboxManager {
	entries = $state.raw<OutboxEntry[]>([]);
	/** Unsent messages of conversations the user is no longer in, out of the queue: shown until dismissed. */
	undelivered = $state.raw<Undelivered[]>([]);

	#store: OutboxStore | null = null;
	#channel: BroadcastChannel | null = null;
	#senderId = '';
	#lastOrder = 0;
	#flushing = false;
	#flushAgain = false;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#storedListeners = new Set<(message: Message) => void>();

	get count(): number {
		return this.entries.length;
	}

	/** How many go out by themselves once the connection is back (not the refused ones). */
	get outgoing(): number {
		return outgoing(this.entries).length;
	}

	pendingIn(groupId: string): PendingMessage[] {
		return pendingIn(this.entries, groupId);
	}

	/** Called with each message the server stored for an entry (the timelines merge it). */
	onStored(listener: (message: Message) => void): () => void {
		this.#storedListeners.add(listener);
		return () => this.#storedListeners.delete(listener);
	}

	/** Start for the signed-in user: what an earlier page left unsent goes out now. */
	attach(senderId: string): () => void {
		this.#senderId = senderId;
		this.#store ??= openOutboxStore();
		const store = this.#store;
		const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
		channel?.addEventListener('message', (event: MessageEvent<OutboxNews>) => this.#heard(event.data));
		this.#channel = channel;
		void store
			.load(senderId)
			.then(saved => {
				if (this.#senderId !== senderId || saved.length === 0) return;
				const known = new Set(this.entries.map(e => e.clientMessageId));
				this.entries = afterReload([...this.entries, ...saved.filter(e => !known.has(e.clientMessageId))]);
				this.#lastOrder = Math.max(this.#lastOrder, ...this.entries.map(e => e.order));
				this.flush();
			})
			.catch(error => console.warn('The outbox could not be read', error));
		const offConnect = realtime.onConnect(() => {
			this.entries = afterReconnect(this.entries);
			this.flush();
		});
		return () => {
			offConnect();
			channel?.close();
			if (this.#channel === channel) this.#channel = null;
			clearTimeout(this.#timer);
			this.#senderId = '';
			this.entries = [];
			this.undelivered = [];
		};
	}

	enqueue(groupId: string, content: string, attachments: Asset[], replyTo: ReplyRef | null = null): void {
		this.#lastOrder = Math.max(Date.now(), this.#lastOrder + 1);
		const entry = newEntry(
			{
				clientMessageId: newClientMessageId(),
				groupId,
				senderId: this.#senderId,
				content,
				attachments,
				createdAt: new Date().toISOString(),
				replyTo
			},
			this.#lastOrder
		);
		this.#set(entry, true);
		this.flush();
	}

	retry(clientMessageId: string): void {
		const entry = this.#find(clientMessageId);
		if (!entry) return;
		this.#set(retried(entry));
		this.flush();
	}

	/** Give up on an unsent message. One on the wire cannot be called back. */
	cancel(clientMessageId: string): void {
		const entry = this.#find(clientMessageId);
		if (!entry || entry.state === 'sending') return;
		this.#remove([clientMessageId]);
		this.flush();
	}

	/** Stored messages arrived (ack, live echo, sync, history): their entries are done. */
	confirm(messages: Pick<Message, 'clientMessageId'>[]): void {
		const next = confirmed(this.entries, messages);
		if (next === this.entries) return;
		const left = new Set(next.map(e => e.clientMessageId));
		this.#remove(this.entries.filter(e => !left.has(e.clientMessageId)).map(e => e.clientMessageId));
	}

	/** The user is no longer in this conversation: its unsent messages leave the queue, and the user is told. */
	abandon(groupId: string, title: string | null = null): void {
		this.#takeOut(groupId, title, undeliverable(this.entries, groupId));
	}

	dismissUndelivered(groupId: string): void {
		this.undelivered = this.undelivered.filter(n => n.groupId !== groupId);
	}

	/** Forget everything of a user who logged out. */
	async purge(senderId: string): Promise<void> {
		if (this.#senderId === senderId) {
			this.entries = [];
			this.undelivered = [];
		}
		await (this.#store ??= openOutboxStore()).purge(senderId).catch(() => undefined);
	}

	/** Send what is due, one message per conversation at a time, until nothing is. */
	flush(): void {
		if (this.#flushing) {
			this.#flushAgain = true;
			return;
		}
		this.#flushing = true;
		void this.#drain().finally(() => {
			this.#flushing = false;
			if (this.#flushAgain) {
				this.#flushAgain = false;
				this.flush();
			} else {
				this.#wakeLater();
			}
		});
	}

	async #drain(): Promise<void> {
		for (
			let due = dueEntries(this.entries, Date.now());
			due.length && this.#senderId;
			due = dueEntries(this.entries, Date.now())
		) {
			await Promise.all(due.map(entry => this.#send(entry)));
		}
	}

	async #send(entry: OutboxEntry): Promise<void> {
		this.#set({ ...entry, state: 'sending' });
		const payload = {
			groupId: entry.groupId,
			content: entry.content,
			clientMessageId: entry.clientMessageId,
			attachments: entry.attachments.length ? entry.attachments.map(a => ({ assetId: a.id })) : undefined,
			replyTo: entry.replyTo?.id
		};
		try {
			const message = realtime.connected
				? (await realtime.emit('chat.message.send', payload)).message
				: await messagesApi.send(payload);
			this.confirm([message]);
			for (const listener of this.#storedListeners) listener(message);
		} catch (error) {
			const current = this.#find(entry.clientMessageId);
			// Confirmed meanwhile (the live echo beat the ack), cancelled in another tab, or the user logged out.
			if (!current) return;
			if (classifySendError(error).kind === 'gone')
				this.#takeOut(current.groupId, null, undeliverable(this.entries, current.groupId, current.clientMessageId));
			else this.#set(afterFailure(current, error, Date.now()));
		}
	}

	#wakeLater(): void {
		clearTimeout(this.#timer);
		const at = nextWakeAt(this.entries, Date.now());
		if (at !== null) this.#timer = setTimeout(() => this.flush(), Math.max(0, at - Date.now()));
	}

	#find(clientMessageId: string): OutboxEntry | undefined {
		return this.entries.find(e => e.clientMessageId === clientMessageId);
	}

	/** `fresh`: a new entry; any other is written only while it is still stored (another tab may have removed it). */
	#set(entry: OutboxEntry, fresh = false): void {
		const others = this.entries.filter(e => e.clientMessageId !== entry.clientMessageId);
		this.entries = [...others, entry].sort((a, b) => a.order - b.order);
		const saved = fresh ? this.#store?.put(entry) : this.#store?.update(entry);
		saved?.catch(error => console.warn('The outbox could not be saved', error));
	}

	#remove(clientMessageIds: string[]): void {
		if (clientMessageIds.length === 0) return;
		const gone = new Set(clientMessageIds);
		this.entries = this.entries.filter(e => !gone.has(e.clientMessageId));
		for (const id of gone) this.#store?.delete(id).catch(error => console.warn('The outbox could not be saved', error));
		this.#channel?.postMessage({ gone: [...gone] } satisfies OutboxNews);
	}

	#takeOut(groupId: string, title: string | null, entries: OutboxEntry[]): void {
		if (entries.length === 0) return;
		this.#remove(entries.map(e => e.clientMessageId));
		this.undelivered = withUndelivered(this.undelivered, groupId, title, entries);
	}

	/** Another tab sent or cancelled these: they are not this tab's to send any more. */
	#heard(news: OutboxNews): void {
		if (!Array.isArray(news?.gone)) return;
		const gone = new Set(news.gone);
		if (this.entries.some(e => gone.has(e.clientMessageId)))
			this.entries = this.entries.filter(e => !gone.has(e.clientMessageId));
	}
}

export const outbox = new OutboxManager();
