import type { Asset, Message, ReplyRef } from '@scalable-chat/contract';
import { ApiError, errorMessage } from '#lib/api/errors.ts';
import { backoffDelay, type BackoffPolicy } from '#lib/retry/backoff.ts';

/**
 * A message the user sent that the server has not stored yet, kept in the browser until it has.
 * `queued`: waiting for its turn, the connection or `notBefore`; `sending`: on the wire;
 * `failed`: refused for good (the user retries or cancels it), and it holds up its conversation.
 */
export interface OutboxEntry extends Pick<Message, 'groupId' | 'senderId' | 'content' | 'attachments' | 'createdAt'> {
	clientMessageId: string;
	/** The user's send order: a conversation's messages go out in it, one at a time. */
	order: number;
	state: 'queued' | 'sending' | 'failed';
	/** Failed attempts so far (the backoff grows with them). */
	attempts: number;
	/** Not sent again before this time (epoch ms). */
	notBefore: number;
	/** notBefore was the server's retryAfterMs (429/503): a reconnect does not cut it short. */
	serverDelay: boolean;
	error?: string;
	/** The message this one answers (shown as its quote while it waits). */
	replyTo?: ReplyRef | null;
}

/** What the timeline shows for an unsent message. */
export interface PendingMessage extends Pick<
	OutboxEntry,
	'clientMessageId' | 'groupId' | 'senderId' | 'content' | 'attachments' | 'createdAt' | 'error' | 'replyTo'
> {
	state: 'pending' | 'failed';
	/** A send already failed and it waits to go again (offline, server busy). */
	waiting: boolean;
}

export const OUTBOX_BACKOFF: BackoffPolicy = { baseMs: 1000, maxMs: 30_000 };

export function newEntry(
	message: Pick<OutboxEntry, 'clientMessageId' | 'groupId' | 'senderId' | 'content' | 'createdAt' | 'replyTo'> & {
		attachments: Asset[];
	},
	order: number
): OutboxEntry {
	return { ...message, order, state: 'queued', attempts: 0, notBefore: 0, serverDelay: false };
}

const byOrder = (a: OutboxEntry, b: OutboxEntry) => a.order - b.order || a.createdAt.localeCompare(b.createdAt);

/** The first unsent message of each conversation: only it may go out. */
function heads(entries: OutboxEntry[]): OutboxEntry[] {
	const first = new Map<string, OutboxEntry>();
	for (const entry of [...entries].sort(byOrder)) if (!first.has(entry.groupId)) first.set(entry.groupId, entry);
	return [...first.values()].sort(byOrder);
}

/** What to send now: each conversation's first message, if it is queued and its wait is over. */
export function dueEntries(entries: OutboxEntry[], now: number): OutboxEntry[] {
	return heads(entries).filter(e => e.state === 'queued' && e.notBefore <= now);
}

/** What goes out by itself, now or later: not what was refused, nor what waits behind it in its conversation. */
export function outgoing(entries: OutboxEntry[]): OutboxEntry[] {
	const held = new Set<string>();
	return [...entries].sort(byOrder).filter(e => {
		if (e.state === 'failed') held.add(e.groupId);
		return !held.has(e.groupId);
	});
}

/** When the next queued head becomes due, or null when none waits on a timer. */
export function nextWakeAt(entries: OutboxEntry[], now: number): number | null {
	const waits = heads(entries)
		.filter(e => e.state === 'queued' && e.notBefore > now)
		.map(e => e.notBefore);
	return waits.length ? Math.min(...waits) : null;
}

export type SendFailure =
	| { kind: 'transient'; message: string }
	| { kind: 'wait'; ms: number; message: string }
	| { kind: 'failed'; message: string }
	/** The conversation is not there for the user (left, removed, or never in it): nothing of it can go out. */
	| { kind: 'gone'; message: string };

/**
 * Whether a failed send is worth repeating. No answer (offline, timeout), a server that is down or
 * overloaded, or a session being renewed: yes, with the same clientMessageId (the server returns the
 * first copy). Any other refusal (validation, not a member, id reused) would be refused again.
 */
export function classifySendError(error: unknown): SendFailure {
	const message = errorMessage(error);
	if (!(error instanceof ApiError)) return { kind: 'transient', message };
	const retryAfterMs = (error.data as { retryAfterMs?: unknown } | null | undefined)?.retryAfterMs;
	if ((error.code === 429 || error.code === 503) && typeof retryAfterMs === 'number' && retryAfterMs >= 0) {
		return { kind: 'wait', ms: retryAfterMs, message };
	}
	if (error.code >= 500 || error.code === 429 || error.code === 408 || error.code === 401)
		return { kind: 'transient', message };
	// The server's own 404 (not a proxy's page): a send's only one is for the conversation.
	if (error.code === 404 && error.type === 'NOT_FOUND') return { kind: 'gone', message };
	return { kind: 'failed', message };
}

export function afterFailure(
	entry: OutboxEntry,
	error: unknown,
	now: number,
	random: () => number = Math.random
): OutboxEntry {
	const failure = classifySendError(error);
	const attempts = entry.attempts + 1;
	if (failure.kind === 'failed' || failure.kind === 'gone')
		return { ...entry, state: 'failed', attempts, notBefore: 0, serverDelay: false, error: failure.message };
	const wait = failure.kind === 'wait' ? failure.ms : backoffDelay(entry.attempts, OUTBOX_BACKOFF, random);
	return {
		...entry,
		state: 'queued',
		attempts,
		notBefore: now + wait,
		serverDelay: failure.kind === 'wait',
		error: failure.message
	};
}

/** The connection is back: what waited only for it goes now; a wait the server asked for still holds. */
export function afterReconnect(entries: OutboxEntry[]): OutboxEntry[] {
	let changed = false;
	const next = entries.map(e => {
		if (e.state !== 'queued' || e.serverDelay || e.notBefore === 0) return e;
		changed = true;
		return { ...e, notBefore: 0 };
	});
	return changed ? next : entries;
}

/** After a reload nothing is on the wire: a send cut off by it goes again (the server dedupes). */
export function afterReload(entries: OutboxEntry[]): OutboxEntry[] {
	return entries
		.map((e): OutboxEntry => (e.state === 'sending' ? { ...e, state: 'queued', notBefore: 0 } : e))
		.sort(byOrder);
}

/** The user asks to send a failed (or waiting) message again, now. */
export function retried(entry: OutboxEntry): OutboxEntry {
	return entry.state === 'sending'
		? entry
		: { ...entry, state: 'queued', notBefore: 0, serverDelay: false, error: undefined };
}

/** Drop the entries that these stored messages confirm (by clientMessageId). */
export function confirmed(entries: OutboxEntry[], stored: Pick<Message, 'clientMessageId'>[]): OutboxEntry[] {
	const ids = new Set(stored.map(m => m.clientMessageId).filter(Boolean));
	if (ids.size === 0) return entries;
	const next = entries.filter(e => !ids.has(e.clientMessageId));
	return next.length === entries.length ? entries : next;
}

export function toPending(entry: OutboxEntry): PendingMessage {
	const { clientMessageId, groupId, senderId, content, attachments, createdAt, error, replyTo } = entry;
	return {
		replyTo,
		clientMessageId,
		groupId,
		senderId,
		content,
		attachments,
		createdAt,
		error,
		state: entry.state === 'failed' ? 'failed' : 'pending',
		waiting: entry.state === 'queued' && entry.attempts > 0
	};
}

/** A conversation's unsent messages in send order, for its timeline. */
export function pendingIn(entries: OutboxEntry[], groupId: string): PendingMessage[] {
	return entries
		.filter(e => e.groupId === groupId)
		.sort(byOrder)
		.map(toPending);
}

/** Unsent messages of a conversation the user is no longer in, taken out of the queue: what to tell them. */
export interface Undelivered {
	groupId: string;
	/** The conversation's name when it was known (it has left the list). */
	title: string | null;
	messages: Pick<OutboxEntry, 'clientMessageId' | 'content' | 'attachments'>[];
}

/**
 * The entries of a conversation that cannot go out any more, in send order. One on the wire stays: its answer
 * decides (`refusedId`: the one whose answer just said so).
 */
export function undeliverable(entries: OutboxEntry[], groupId: string, refusedId?: string): OutboxEntry[] {
	return entries
		.filter(e => e.groupId === groupId && (e.state !== 'sending' || e.clientMessageId === refusedId))
		.sort(byOrder);
}

/** The notices with these entries added to their conversation's. */
export function withUndelivered(
	notices: Undelivered[],
	groupId: string,
	title: string | null,
	entries: OutboxEntry[]
): Undelivered[] {
	const known = notices.find(n => n.groupId === groupId);
	const messages = entries.map(({ clientMessageId, content, attachments }) => ({
		clientMessageId,
		content,
		attachments
	}));
	const notice: Undelivered = {
		groupId,
		title: title ?? known?.title ?? null,
		messages: [...(known?.messages ?? []), ...messages]
	};
	return [...notices.filter(n => n.groupId !== groupId), notice];
}

/** What the notice of undelivered messages says. */
export function undeliveredText(notice: Undelivered, title: string | null): string {
	const count = notice.messages.length;
	const what = count === 1 ? 'A message' : `${count} messages`;
	return `${what} to ${title || 'a conversation'} could not be sent: you are no longer in it.`;
}

/** The texts of undelivered messages, to copy before they are discarded. */
export function undeliveredCopy(notice: Undelivered): string {
	return notice.messages
		.map(m => m.content.trim())
		.filter(Boolean)
		.join('\n\n');
}
