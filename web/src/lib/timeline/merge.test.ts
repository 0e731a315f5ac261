import { describe, expect, it } from 'vitest';
import {
	addPending,
	applyStored,
	contiguousCursor,
	emptyTimeline,
	mergeMessages,
	updatePending,
	type PendingMessage
} from './merge';
import { message } from './fixtures';

const seqs = (list: { seq: number }[]) => list.map(m => m.seq);

function pending(clientMessageId: string): PendingMessage {
	return {
		clientMessageId,
		groupId: 'g1',
		senderId: 'me',
		content: 'hello',
		attachments: [],
		createdAt: new Date().toISOString(),
		state: 'pending'
	};
}

describe('mergeMessages', () => {
	it('appends live messages in order', () => {
		expect(seqs(mergeMessages([message(1), message(2)], [message(4), message(3)]))).toEqual([1, 2, 3, 4]);
	});

	it('prepends history and drops duplicates', () => {
		const merged = mergeMessages([message(5), message(6)], [message(3), message(4), message(5)]);
		expect(seqs(merged)).toEqual([3, 4, 5, 6]);
	});

	it('fills a gap left by a missed range (sync after reconnect)', () => {
		const merged = mergeMessages(
			[message(1), message(2), message(6)],
			[message(3), message(4), message(5), message(6)]
		);
		expect(seqs(merged)).toEqual([1, 2, 3, 4, 5, 6]);
	});

	it('returns the same array when nothing is new', () => {
		const current = [message(1), message(2)];
		expect(mergeMessages(current, [])).toBe(current);
	});

	it('keeps a tombstone over a stale copy of the same seq', () => {
		const tombstone = message(2, { content: '', deletedAt: '2025-01-01T13:00:00.000Z' });
		const merged = mergeMessages([message(1), tombstone, message(3)], [message(2)]);
		expect(merged[1].deletedAt).not.toBeNull();
		expect(mergeMessages([message(1), message(2)], [tombstone])[1].deletedAt).not.toBeNull();
	});

	it('handles duplicates inside one batch', () => {
		expect(seqs(mergeMessages([], [message(2), message(1), message(2)]))).toEqual([1, 2]);
	});
});

describe('applyStored with optimistic messages', () => {
	it('replaces a pending message when its ack arrives', () => {
		let timeline = addPending(emptyTimeline(), pending('c1'));
		timeline = applyStored(timeline, [message(7, { clientMessageId: 'c1', senderId: 'me' })]);
		expect(timeline.pending).toEqual([]);
		expect(seqs(timeline.messages)).toEqual([7]);
	});

	it('replaces it once whether the echo or the ack comes first', () => {
		let timeline = addPending(emptyTimeline(), pending('c1'));
		const stored = message(7, { clientMessageId: 'c1', senderId: 'me' });
		timeline = applyStored(timeline, [stored]); // echo
		timeline = applyStored(timeline, [stored]); // ack
		expect(timeline.pending).toEqual([]);
		expect(timeline.messages).toHaveLength(1);
	});

	it('does not re-add a pending copy once the stored one exists (retry after echo)', () => {
		let timeline = applyStored(emptyTimeline(), [message(7, { clientMessageId: 'c1' })]);
		timeline = addPending(timeline, pending('c1'));
		expect(timeline.pending).toEqual([]);
	});

	it('keeps unrelated pending messages and marks failures', () => {
		let timeline = addPending(addPending(emptyTimeline(), pending('c1')), pending('c2'));
		timeline = updatePending(timeline, 'c2', { state: 'failed', error: 'offline' });
		timeline = applyStored(timeline, [message(1, { clientMessageId: 'c1' })]);
		expect(timeline.pending.map(p => [p.clientMessageId, p.state])).toEqual([['c2', 'failed']]);
	});

	it('retrying keeps the same clientMessageId and a single copy', () => {
		let timeline = addPending(emptyTimeline(), pending('c1'));
		timeline = updatePending(timeline, 'c1', { state: 'failed' });
		timeline = addPending(timeline, pending('c1'));
		expect(timeline.pending).toHaveLength(1);
		expect(timeline.pending[0].state).toBe('pending');
	});
});

describe('contiguousCursor', () => {
	it('stops before a gap', () => {
		expect(contiguousCursor([message(1), message(2), message(3), message(9)])).toBe(3);
	});
	it('is null when nothing is loaded', () => {
		expect(contiguousCursor([])).toBeNull();
	});
	it('is the last seq when contiguous', () => {
		expect(contiguousCursor([message(4), message(5)])).toBe(5);
	});
});
