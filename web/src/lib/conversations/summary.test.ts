import { describe, expect, it } from 'vitest';
import { mergeGroup, mergeGroupBase, sortByActivity, unreadCount, withMessage, withReadSeq } from './summary';
import { message } from '#lib/timeline/fixtures.ts';
import { group } from './fixtures';

describe('conversation summary', () => {
	it('counts unread as lastSeq - readSeq', () => {
		expect(unreadCount({ lastSeq: 10, readSeq: 7 })).toBe(3);
		expect(unreadCount({ lastSeq: 3, readSeq: 7 })).toBe(0);
	});

	it('increments unread for messages from others while not visible', () => {
		const g = withMessage(group('g1', { lastSeq: 4, readSeq: 4 }), message(5), { myUserId: 'me', visible: false });
		expect(g.unreadCount).toBe(1);
		expect(g.lastMessage?.seq).toBe(5);
	});

	it('does not count my own messages or the visible conversation', () => {
		const base = group('g1', { lastSeq: 4, readSeq: 4 });
		expect(withMessage(base, message(5, { senderId: 'me' }), { myUserId: 'me', visible: false }).unreadCount).toBe(0);
		expect(withMessage(base, message(5), { myUserId: 'me', visible: true }).unreadCount).toBe(0);
	});

	it('keeps the newest last message when an older one arrives later', () => {
		const g = withMessage(group('g1', { lastSeq: 9, lastMessage: message(9) }), message(6), {
			myUserId: 'me',
			visible: false
		});
		expect(g.lastMessage?.seq).toBe(9);
		expect(g.lastSeq).toBe(9);
	});

	it('marks read and sorts by activity', () => {
		expect(withReadSeq(group('g', { lastSeq: 5 }), 5).unreadCount).toBe(0);
		const sorted = sortByActivity([
			group('old'),
			group('new', { lastMessage: message(1, { createdAt: '2025-02-01T00:00:00.000Z' }) })
		]);
		expect(sorted.map(g => g.id)).toEqual(['new', 'old']);
	});

	it('merges a server copy without going back', () => {
		const local = group('g', { lastSeq: 8, readSeq: 8, lastMessage: message(8) });
		const merged = mergeGroup(local, group('g', { name: 'renamed', lastSeq: 7, readSeq: 5, lastMessage: message(7) }));
		expect(merged).toMatchObject({ name: 'renamed', lastSeq: 8, readSeq: 8, unreadCount: 0 });
		expect(merged.lastMessage?.seq).toBe(8);
	});

	it('takes name and members from a live GroupBase but keeps what only the reader knows', () => {
		const base = {
			id: 'g1',
			type: 'group' as const,
			name: 'Renamed',
			members: [{ userId: 'me', role: 'owner' as const }],
			memberCount: 1,
			avatarUrl: null,
			createdAt: 'c',
			updatedAt: 'u'
		};
		const known = mergeGroupBase(
			group('g1', { lastSeq: 9, readSeq: 6, unreadCount: 3, lastMessage: message(9) }),
			base
		);
		expect(known).toMatchObject({ name: 'Renamed', lastSeq: 9, readSeq: 6, unreadCount: 3 });
		expect(known.members).toEqual(base.members);
		// A conversation first heard of through an event starts empty, so later messages count as unread.
		const fresh = withMessage(mergeGroupBase(undefined, base), message(1), { myUserId: 'me', visible: false });
		expect(fresh).toMatchObject({ lastSeq: 1, readSeq: 0, unreadCount: 1 });
	});
});

describe('mentions in the summary', () => {
	it('counts a new message that mentions me while unread, and clears it once read to the end', () => {
		const g = group('g1', { lastSeq: 4, readSeq: 4 });
		const mentioned = withMessage(g, message(5, { senderId: 'bob', mentions: ['me'] }), {
			myUserId: 'me',
			visible: false
		});
		expect(mentioned.mentionCount).toBe(1);
		// The same message again (a page, a sync) is not a second mention.
		expect(
			withMessage(mentioned, message(5, { senderId: 'bob', mentions: ['me'] }), { myUserId: 'me', visible: false })
				.mentionCount
		).toBe(1);
		const everyone = withMessage(mentioned, message(6, { senderId: 'bob', mentionsAll: true }), {
			myUserId: 'me',
			visible: false
		});
		expect(everyone.mentionCount).toBe(2);
		expect(
			withMessage(g, message(5, { senderId: 'bob', mentions: ['me'] }), { myUserId: 'me', visible: true }).mentionCount
		).toBe(0);
		expect(withReadSeq(everyone, 6).mentionCount).toBe(0);
	});
});
