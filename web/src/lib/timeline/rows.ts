import type { Message } from '@scalable-chat/contract';
import type { PendingMessage } from '#lib/outbox/outbox-queue.ts';
import { messageKey } from './merge';

/** Consecutive messages of one author within this window share one header. */
export const GROUPING_WINDOW_MS = 5 * 60 * 1000;

export type TimelineItem = { kind: 'stored'; message: Message } | { kind: 'pending'; message: PendingMessage };

export type TimelineRow =
	| { type: 'day'; key: string; date: Date }
	| { type: 'unread'; key: string }
	| {
			type: 'message';
			key: string;
			item: TimelineItem;
			/** First message of a run from one author: shows avatar and name. */
			startsGroup: boolean;
			/** Last message of a run: where ticks and time go. */
			endsGroup: boolean;
	  };

function dayKey(date: Date): string {
	return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

function senderOf(item: TimelineItem): string {
	return item.message.senderId;
}

/**
 * Lay out a conversation like a chat timeline: day separators, an unread divider before the
 * first message from someone else after `readMarkerSeq`, and runs of one author grouped.
 */
export function buildRows(
	messages: Message[],
	pending: PendingMessage[],
	options: { readMarkerSeq: number | null; myUserId: string }
): TimelineRow[] {
	const items: TimelineItem[] = [
		...messages.map((message): TimelineItem => ({ kind: 'stored', message })),
		...pending.map((message): TimelineItem => ({ kind: 'pending', message }))
	];
	const rows: TimelineRow[] = [];
	let previous: { item: TimelineItem; time: number; day: string } | null = null;
	let unreadPlaced = false;
	let lastMessageRow: Extract<TimelineRow, { type: 'message' }> | null = null;

	for (const item of items) {
		const date = new Date(item.message.createdAt);
		const time = date.getTime();
		const day = dayKey(date);
		let breaksGroup = false;

		if (!previous || previous.day !== day) {
			rows.push({ type: 'day', key: `day:${day}`, date });
			breaksGroup = true;
		}

		if (
			!unreadPlaced &&
			options.readMarkerSeq !== null &&
			item.kind === 'stored' &&
			item.message.seq > options.readMarkerSeq &&
			item.message.senderId !== options.myUserId
		) {
			rows.push({ type: 'unread', key: 'unread' });
			unreadPlaced = true;
			breaksGroup = true;
		}

		const startsGroup =
			breaksGroup ||
			!previous ||
			senderOf(previous.item) !== senderOf(item) ||
			time - previous.time > GROUPING_WINDOW_MS ||
			Boolean(previous.item.kind === 'stored' && (previous.item.message.deletedAt || previous.item.message.system)) ||
			Boolean(item.kind === 'stored' && item.message.system);

		if (startsGroup && lastMessageRow) lastMessageRow.endsGroup = true;

		const key = item.kind === 'stored' ? messageKey(item.message) : `pending:${item.message.clientMessageId}`;
		const row = { type: 'message' as const, key, item, startsGroup, endsGroup: false };
		rows.push(row);
		lastMessageRow = row;
		previous = { item, time, day };
	}
	if (lastMessageRow) lastMessageRow.endsGroup = true;
	return rows;
}
