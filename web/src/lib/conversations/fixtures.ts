import type { Group } from '@scalable-chat/contract';

/** Build a conversation summary for tests. */
export function group(id: string, overrides: Partial<Group> = {}): Group {
	return {
		id,
		type: 'group',
		name: id,
		members: [],
		memberCount: 0,
		avatarUrl: null,
		lastSeq: 0,
		unreadCount: 0,
		readSeq: 0,
		mentionCount: 0,
		unreadFrom: null,
		notifications: { level: 'all', mutedUntil: null },
		lastMessage: null,
		createdAt: '2025-01-01T00:00:00.000Z',
		updatedAt: '2025-01-01T00:00:00.000Z',
		lastActivityAt: '2025-01-01T00:00:00.000Z',
		...overrides
	};
}
