import { describe, expect, it } from 'vitest';
import { contiguousCursor, mergeMessages } from './merge';
import { message } from './fixtures';

const seqs = (list: { seq: number }[]) => list.map(m => m.seq);

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
