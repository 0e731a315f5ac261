import type { Message } from '@scalable-chat/contract';

/** The stored messages of one conversation as the client holds them (unsent ones live in the outbox). */
export interface Timeline {
	/** Ascending and unique by seq. */
	messages: Message[];
}

export const emptyTimeline = (): Timeline => ({ messages: [] });

export function messageKey(message: Pick<Message, 'groupId' | 'seq'>): string {
	return `${message.groupId}:${message.seq}`;
}

/**
 * Which copy of one seq to keep: a tombstone always wins, then the later change (`version`); between
 * copies of one version the incoming one (its receipt counts and signed URLs are fresher).
 */
export function pick(existing: Message, incoming: Message): Message {
	if (existing.deletedAt && !incoming.deletedAt) return existing;
	if ((incoming.version ?? 0) < (existing.version ?? 0)) return existing;
	return incoming;
}

/**
 * Merge stored messages (live, synced or historical) into a sorted, duplicate-free list.
 * Returns the original array when nothing changed, so callers can skip re-rendering.
 */
export function mergeMessages(current: Message[], incoming: Message[]): Message[] {
	if (incoming.length === 0) return current;
	const last = current.at(-1);
	const sortedIncoming = [...incoming].sort((a, b) => a.seq - b.seq);

	// Fast path for the common live case: everything is newer than what we hold.
	if (!last || sortedIncoming[0].seq > last.seq) {
		const out = [...current];
		for (const message of sortedIncoming) {
			const tail = out.at(-1);
			if (tail && tail.seq === message.seq) out[out.length - 1] = pick(tail, message);
			else out.push(message);
		}
		return out;
	}

	const bySeq = new Map<number, Message>();
	for (const message of current) bySeq.set(message.seq, message);
	let changed = false;
	for (const message of sortedIncoming) {
		const existing = bySeq.get(message.seq);
		const next = existing ? pick(existing, message) : message;
		if (next !== existing) {
			bySeq.set(message.seq, next);
			changed = true;
		}
	}
	if (!changed) return current;
	return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

export function applyStored(timeline: Timeline, incoming: Message[]): Timeline {
	const messages = mergeMessages(timeline.messages, incoming);
	return messages === timeline.messages ? timeline : { messages };
}

/**
 * The seq up to which we hold every message without a gap: what to ask chat.sync for.
 * A live message can arrive past a gap (missed while offline); the cursor must stay before it.
 * Null when nothing is loaded (the caller then uses the conversation's known lastSeq).
 */
export function contiguousCursor(messages: Message[]): number | null {
	if (messages.length === 0) return null;
	let cursor = messages[0].seq;
	for (let i = 1; i < messages.length; i++) {
		if (messages[i].seq !== cursor + 1) break;
		cursor = messages[i].seq;
	}
	return cursor;
}

/**
 * Changes to messages (edits, deletes, reactions) by id: only the ones this timeline holds are replaced. A change
 * of a message outside the loaded window is not inserted, which would open a gap in the history.
 */
export function applyChanges(timeline: Timeline, changed: Message[]): Timeline {
	if (changed.length === 0 || timeline.messages.length === 0) return timeline;
	const byId = new Map(changed.map(m => [m.id, m]));
	let touched = false;
	const messages = timeline.messages.map(m => {
		const incoming = byId.get(m.id);
		if (!incoming) return m;
		const next = pick(m, incoming);
		if (next !== m) touched = true;
		return next;
	});
	return touched ? { messages } : timeline;
}

/** Replace one held message through `change` (null: leave it); the same timeline when nothing changed. */
export function updateMessage(timeline: Timeline, messageId: string, change: (m: Message) => Message | null): Timeline {
	const index = timeline.messages.findIndex(m => m.id === messageId);
	if (index < 0) return timeline;
	const next = change(timeline.messages[index]);
	if (!next || next === timeline.messages[index]) return timeline;
	const messages = [...timeline.messages];
	messages[index] = next;
	return { messages };
}
