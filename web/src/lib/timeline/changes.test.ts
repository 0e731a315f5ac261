import { describe, expect, it } from 'vitest';
import { applyChanges, applyStored, contiguousCursor, emptyTimeline, updateMessage } from './merge';
import { message } from './fixtures';

const window = (from: number, to: number) =>
	applyStored(
		emptyTimeline(),
		Array.from({ length: to - from + 1 }, (_, i) => message(from + i))
	);

describe('changes to held messages', () => {
	it('replaces a held message by a later version and keeps the order', () => {
		const t = window(1, 3);
		const edited = message(2, { content: 'fixed', editedAt: '2025-01-01T13:00:00.000Z', version: 10 });
		const next = applyChanges(t, [edited]);
		expect(next.messages.map(m => m.content)).toEqual(['message 1', 'fixed', 'message 3']);
	});

	it('never inserts a change of a message outside the window (that would open a gap)', () => {
		const t = window(51, 100);
		const next = applyChanges(t, [message(3, { content: 'old but edited', version: 200 })]);
		expect(next).toBe(t);
		expect(contiguousCursor(next.messages)).toBe(100);
	});

	it('keeps the newer copy when an older change arrives late', () => {
		const t = applyChanges(window(1, 2), [message(2, { content: 'second edit', version: 9 })]);
		const late = applyChanges(t, [message(2, { content: 'first edit', version: 5 })]);
		expect(late).toBe(t);
		// The same rule holds for live and paged copies merged by seq.
		expect(applyStored(t, [message(2, { content: 'first edit', version: 5 })]).messages[1].content).toBe('second edit');
	});

	it('a tombstone wins over any copy with text', () => {
		const deleted = applyChanges(window(1, 2), [message(2, { content: '', deletedAt: 'x', version: 4 })]);
		const next = applyChanges(deleted, [message(2, { content: 'resurrected', version: 99 })]);
		expect(next.messages[1].deletedAt).toBe('x');
	});

	it('updateMessage changes one message by id, or returns the same timeline', () => {
		const t = window(1, 2);
		expect(updateMessage(t, 'nope', m => ({ ...m, content: 'x' }))).toBe(t);
		expect(updateMessage(t, 'm1', () => null)).toBe(t);
		expect(updateMessage(t, 'm1', m => ({ ...m, content: 'x' })).messages[0].content).toBe('x');
	});
});
