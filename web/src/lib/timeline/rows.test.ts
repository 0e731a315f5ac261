import { describe, expect, it } from 'vitest';
import { buildRows } from './rows';
import { message } from './fixtures';
import type { PendingMessage } from '#lib/outbox/outbox-queue.ts';

const at = (iso: string) => ({ createdAt: new Date(iso).toISOString() });
const summary = (rows: ReturnType<typeof buildRows>) =>
	rows.map(r => (r.type === 'message' ? `${r.startsGroup ? '+' : '.'}${r.item.message.content}` : r.type));

describe('buildRows', () => {
	it('groups one author within five minutes and separates days', () => {
		const rows = buildRows(
			[
				message(1, { ...at('2025-01-01T10:00:00'), content: 'a1' }),
				message(2, { ...at('2025-01-01T10:04:00'), content: 'a2' }),
				message(3, { ...at('2025-01-01T10:10:00'), content: 'a3' }),
				message(4, { ...at('2025-01-01T10:11:00'), content: 'b1', senderId: 'bob' }),
				message(5, { ...at('2025-01-02T09:00:00'), content: 'b2', senderId: 'bob' })
			],
			[],
			{ readMarkerSeq: null, myUserId: 'me' }
		);
		expect(summary(rows)).toEqual(['day', '+a1', '.a2', '+a3', '+b1', 'day', '+b2']);
		const ends = rows.filter(r => r.type === 'message').map(r => r.type === 'message' && r.endsGroup);
		expect(ends).toEqual([false, true, true, true, true]);
	});

	it('places the unread divider before the first unread message from someone else', () => {
		const rows = buildRows(
			[
				message(1, { ...at('2025-01-01T10:00:00'), content: 'old' }),
				message(2, { ...at('2025-01-01T10:01:00'), content: 'mine', senderId: 'me' }),
				message(3, { ...at('2025-01-01T10:02:00'), content: 'new' })
			],
			[],
			{ readMarkerSeq: 1, myUserId: 'me' }
		);
		expect(summary(rows)).toEqual(['day', '+old', '+mine', 'unread', '+new']);
	});

	it('shows pending messages after stored ones, grouped with the author', () => {
		const pending: PendingMessage = {
			clientMessageId: 'c1',
			groupId: 'g1',
			senderId: 'me',
			content: 'p',
			attachments: [],
			createdAt: new Date('2025-01-01T10:01:00').toISOString(),
			state: 'pending',
			waiting: false
		};
		const rows = buildRows([message(1, { ...at('2025-01-01T10:00:00'), content: 's', senderId: 'me' })], [pending], {
			readMarkerSeq: null,
			myUserId: 'me'
		});
		expect(summary(rows)).toEqual(['day', '+s', '.p']);
		expect(rows.at(-1)?.key).toBe('pending:c1');
	});
});
