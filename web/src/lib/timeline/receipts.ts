import type { DeliveryStatus, Message, Receipt } from '@scalable-chat/contract';

/** A message's receipts as its sender sees them, with how many members other than the sender can receive it. */
export type DeliveryState = Pick<Message, 'status' | 'deliveredCount' | 'seenCount'> & { recipients: number };

/** Per-conversation receipt cursors, keyed by userId. */
export type ReceiptCursors = Record<string, Receipt>;

/** Move a member's cursor forward; cursors never go back. Returns the same object when unchanged. */
export function advanceCursor(
	cursors: ReceiptCursors,
	userId: string,
	patch: { deliveredSeq?: number; readSeq?: number }
): ReceiptCursors {
	const current = cursors[userId] ?? { userId, deliveredSeq: 0, readSeq: 0 };
	const readSeq = Math.max(current.readSeq, patch.readSeq ?? 0);
	// Having seen a message implies it was delivered.
	const deliveredSeq = Math.max(current.deliveredSeq, patch.deliveredSeq ?? 0, readSeq);
	if (readSeq === current.readSeq && deliveredSeq === current.deliveredSeq && cursors[userId]) return cursors;
	return { ...cursors, [userId]: { userId, deliveredSeq, readSeq } };
}

/**
 * Each sender's newest seq among `messages`: a sender has read what they sent. The server writes that
 * cursor behind and sends no receipt event for it, so a reply is how the others learn of it.
 */
export function readBySenders(messages: Pick<Message, 'senderId' | 'seq'>[]): Map<string, number> {
	const read = new Map<string, number>();
	for (const m of messages) if (m.seq > (read.get(m.senderId) ?? 0)) read.set(m.senderId, m.seq);
	return read;
}

export function cursorsFrom(list: Receipt[]): ReceiptCursors {
	let cursors: ReceiptCursors = {};
	for (const c of list) cursors = advanceCursor(cursors, c.userId, c);
	return cursors;
}

/**
 * Delivery state of a message, derived from the other members' cursors; the counts the server
 * sent with the message are a floor (they may be newer than the cursors we have seen).
 */
export function receiptFor(message: Message, memberIds: string[], cursors: ReceiptCursors): DeliveryState {
	const others = memberIds.filter(id => id !== message.senderId);
	let delivered = 0;
	let seen = 0;
	for (const id of others) {
		const cursor = cursors[id];
		if (!cursor) continue;
		if (Math.max(cursor.deliveredSeq, cursor.readSeq) >= message.seq) delivered++;
		if (cursor.readSeq >= message.seq) seen++;
	}
	const seenCount = Math.max(seen, message.seenCount ?? 0);
	const deliveredCount = Math.max(delivered, message.deliveredCount ?? 0, seenCount);
	const recipients = others.length;
	let status: DeliveryStatus = 'sent';
	if (message.status === 'seen' || (recipients > 0 && seenCount >= recipients)) status = 'seen';
	else if (message.status === 'delivered' || (recipients > 0 && deliveredCount >= recipients)) status = 'delivered';
	return { status, deliveredCount, seenCount, recipients };
}
