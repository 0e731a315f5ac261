import type { Message } from '@scalable-chat/contract';

/** Build a stored message for tests. */
export function message(seq: number, overrides: Partial<Message> = {}): Message {
	return {
		id: `m${seq}`,
		groupId: 'g1',
		seq,
		senderId: 'alice',
		content: `message ${seq}`,
		clientMessageId: null,
		attachments: [],
		createdAt: new Date(Date.UTC(2025, 0, 1, 12, seq)).toISOString(),
		deletedAt: null,
		version: seq,
		editedAt: null,
		replyTo: null,
		reactions: [],
		mentions: [],
		mentionsAll: false,
		system: null,
		preview: null,
		status: 'sent',
		deliveredCount: 0,
		seenCount: 0,
		...overrides
	};
}
