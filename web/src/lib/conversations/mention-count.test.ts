import { describe, expect, it } from 'vitest';
import { message } from '#lib/timeline/fixtures.ts';
import { group } from './fixtures';
import { mentionCountAfterChange } from './mention-count';

const unread = group('g1', { lastSeq: 10, readSeq: 6, mentionCount: 1 });
const mentioning = message(8, { mentions: ['me'] });
const plain = message(8);
const later = (m: typeof plain, overrides: Partial<typeof plain>) => ({ ...m, version: m.version + 1, ...overrides });

describe('unread mentions after a change of a message', () => {
	it('a deleted mention counts no more', () => {
		const deleted = later(mentioning, { deletedAt: '2025-01-02T00:00:00.000Z', content: '', mentions: [] });
		expect(mentionCountAfterChange(unread, deleted, mentioning, 'me')).toBe(0);
		// The same delete heard twice (the answer, then the event) takes one away once.
		expect(mentionCountAfterChange({ ...unread, mentionCount: 0 }, deleted, deleted, 'me')).toBe(0);
	});

	it('an edit that names me counts, one that drops my name stops counting; @all too', () => {
		expect(mentionCountAfterChange(unread, later(plain, { mentions: ['me'] }), plain, 'me')).toBe(2);
		expect(mentionCountAfterChange(unread, later(mentioning, { mentions: [] }), mentioning, 'me')).toBe(0);
		expect(mentionCountAfterChange(unread, later(plain, { mentionsAll: true }), plain, 'me')).toBe(2);
		expect(mentionCountAfterChange(unread, later(mentioning, { content: 'typo fixed' }), mentioning, 'me')).toBe(1);
	});

	it('read messages and my own are not in the count', () => {
		const read = message(5, { mentions: ['me'] });
		expect(mentionCountAfterChange(unread, later(read, { mentions: [] }), undefined, 'me')).toBe(1);
		const mine = message(9, { senderId: 'me', mentions: ['me'] });
		expect(mentionCountAfterChange(unread, later(mine, { deletedAt: 'x' }), undefined, 'me')).toBe(1);
	});

	it('without the earlier version, says so unless the answer does not depend on it', () => {
		expect(mentionCountAfterChange(unread, later(plain, { mentions: [] }), undefined, 'me')).toBeNull();
		expect(mentionCountAfterChange(unread, later(plain, { mentions: ['me'] }), undefined, 'me')).toBeNull();
		// Nothing counted, and it does not mention me now: nothing to take away.
		expect(mentionCountAfterChange({ ...unread, mentionCount: 0 }, later(plain, {}), undefined, 'me')).toBe(0);
		// Every unread message is counted already, so this one was.
		expect(
			mentionCountAfterChange({ ...unread, mentionCount: 4 }, later(plain, { mentions: ['me'] }), undefined, 'me')
		).toBe(4);
	});
});
