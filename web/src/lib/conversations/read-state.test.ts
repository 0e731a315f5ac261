import { describe, expect, it } from 'vitest';
import { message } from '#lib/timeline/fixtures.ts';
import { mergeGroup, readMarkerOf, unreadCount, withMessage, withReadSeq, withReadState } from './summary';
import { group } from './fixtures';

describe('mark as unread, on the client', () => {
	it('counts from the marker when it lies at or before the read cursor', () => {
		expect(unreadCount({ lastSeq: 10, readSeq: 10, unreadFrom: 4 })).toBe(7);
		expect(unreadCount({ lastSeq: 10, readSeq: 6, unreadFrom: 8 })).toBe(4);
	});

	it('puts the divider before the marked message, else after the last read one, else nowhere', () => {
		expect(readMarkerOf({ lastSeq: 10, readSeq: 10, unreadFrom: 4 })).toBe(3);
		expect(readMarkerOf({ lastSeq: 10, readSeq: 7, unreadFrom: null })).toBe(7);
		expect(readMarkerOf({ lastSeq: 10, readSeq: 10, unreadFrom: null })).toBeNull();
	});

	it('applies a read state from the server without moving the read cursor back', () => {
		const g = withReadState(group('g', { lastSeq: 10, readSeq: 10 }), { groupId: 'g', readSeq: 9, unreadFrom: 5 });
		expect(g).toMatchObject({ readSeq: 10, unreadFrom: 5, unreadCount: 6 });
		expect(withReadState(g, { groupId: 'g', readSeq: 10, unreadFrom: null }).unreadCount).toBe(0);
	});

	it('reading to the read cursor clears the marker; a new message keeps counting from it', () => {
		const marked = group('g', { lastSeq: 10, readSeq: 10, unreadFrom: 5, unreadCount: 6 });
		const more = withMessage(marked, message(11), { myUserId: 'me', visible: false });
		expect(more.unreadCount).toBe(7);
		expect(withReadSeq(marked, 10)).toMatchObject({ readSeq: 10, unreadFrom: null, unreadCount: 0 });
		expect(withReadSeq(marked, 8)).toBe(marked);
	});

	it('a message of mine clears the marker: writing in a conversation reads it (on my other devices too)', () => {
		const marked = group('g', { lastSeq: 10, readSeq: 10, unreadFrom: 5, unreadCount: 6 });
		const mine = withMessage(marked, { ...message(11), senderId: 'me' }, { myUserId: 'me', visible: false });
		expect(mine).toMatchObject({ readSeq: 11, unreadFrom: null, unreadCount: 0 });
		// An old message of mine arriving late (history, sync) leaves a later marker alone.
		const late = withMessage(marked, { ...message(4), senderId: 'me' }, { myUserId: 'me', visible: false });
		expect(late.unreadFrom).toBe(5);
	});

	it("takes the server's marker unless a read here went past the server's copy", () => {
		const incoming = group('g', { lastSeq: 10, readSeq: 10, unreadFrom: 3 });
		expect(mergeGroup(group('g', { lastSeq: 10, readSeq: 10 }), incoming)).toMatchObject({
			unreadFrom: 3,
			unreadCount: 8
		});
		expect(mergeGroup(group('g', { lastSeq: 12, readSeq: 12 }), incoming)).toMatchObject({
			unreadFrom: null,
			unreadCount: 0
		});
	});
});
