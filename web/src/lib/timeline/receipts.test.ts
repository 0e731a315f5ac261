import { describe, expect, it } from 'vitest';
import type { Message } from '@scalable-chat/contract';
import { advanceCursor, cursorsFrom, readBySenders, receiptFor } from './receipts';
import { message } from './fixtures';

describe('receipts', () => {
	const mine = message(5, { senderId: 'me' });

	it('is sent when nobody else has it', () => {
		expect(receiptFor(mine, ['me', 'bob'], {}).status).toBe('sent');
	});

	it('is delivered then seen in a direct conversation', () => {
		let cursors = advanceCursor({}, 'bob', { deliveredSeq: 5 });
		expect(receiptFor(mine, ['me', 'bob'], cursors).status).toBe('delivered');
		cursors = advanceCursor(cursors, 'bob', { readSeq: 6 });
		expect(receiptFor(mine, ['me', 'bob'], cursors)).toMatchObject({ status: 'seen', seenCount: 1 });
	});

	it('counts who has seen it in a group; seen only when everyone has', () => {
		const cursors = cursorsFrom([
			{ userId: 'bob', deliveredSeq: 5, readSeq: 5 },
			{ userId: 'carol', deliveredSeq: 5, readSeq: 4 },
			{ userId: 'dave', deliveredSeq: 2, readSeq: 0 }
		]);
		expect(receiptFor(mine, ['me', 'bob', 'carol', 'dave'], cursors)).toEqual({
			status: 'sent',
			deliveredCount: 2,
			seenCount: 1,
			recipients: 3
		});
	});

	it('never moves a cursor back and treats read as delivered', () => {
		let cursors = advanceCursor({}, 'bob', { readSeq: 7 });
		expect(cursors.bob).toEqual({ userId: 'bob', deliveredSeq: 7, readSeq: 7 });
		const same = advanceCursor(cursors, 'bob', { readSeq: 3, deliveredSeq: 1 });
		expect(same).toBe(cursors);
		cursors = advanceCursor(cursors, 'bob', { deliveredSeq: 9 });
		expect(cursors.bob).toEqual({ userId: 'bob', deliveredSeq: 9, readSeq: 7 });
	});

	it('uses the server counts as a floor', () => {
		const fromServer = message(5, { senderId: 'me', status: 'delivered', deliveredCount: 1 });
		expect(receiptFor(fromServer, ['me', 'bob'], {}).status).toBe('delivered');
	});

	it('a reply means its sender has read everything before it', () => {
		const read = readBySenders([
			{ senderId: 'bob', seq: 4 },
			{ senderId: 'me', seq: 5 },
			{ senderId: 'bob', seq: 7 },
			{ senderId: 'bob', seq: 6 }
		]);
		expect([...read]).toEqual([
			['bob', 7],
			['me', 5]
		]);
		const mine = { senderId: 'me', seq: 3, status: 'sent' } as Message;
		let cursors = {};
		for (const [userId, seq] of read) cursors = advanceCursor(cursors, userId, { readSeq: seq });
		expect(receiptFor(mine, ['me', 'bob'], cursors).status).toBe('seen');
	});
});
