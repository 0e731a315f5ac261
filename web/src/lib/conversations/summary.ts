import type { Group, GroupBase, Message } from '@scalable-chat/contract';

/** Unread messages of a conversation, as the client derives it. */
export function unreadCount(group: Pick<Group, 'lastSeq' | 'readSeq'>): number {
	return Math.max(0, group.lastSeq - group.readSeq);
}

export function activityTime(group: Group): number {
	return new Date(group.lastMessage?.createdAt ?? group.updatedAt ?? group.createdAt).getTime();
}

/** Newest activity first. */
export function sortByActivity(groups: Group[]): Group[] {
	return [...groups].sort((a, b) => activityTime(b) - activityTime(a));
}

/**
 * Fold a stored message into the conversation summary: last message, lastSeq and read cursor
 * (my own messages and messages arriving while I look at the conversation count as read).
 */
export function withMessage(group: Group, message: Message, options: { myUserId: string; visible: boolean }): Group {
	const lastSeq = Math.max(group.lastSeq, message.seq);
	const isNewest = !group.lastMessage || message.seq >= group.lastMessage.seq;
	let readSeq = group.readSeq;
	if (message.senderId === options.myUserId || options.visible) readSeq = Math.max(readSeq, message.seq);
	const next: Group = {
		...group,
		lastSeq,
		readSeq,
		lastMessage: isNewest ? message : group.lastMessage
	};
	next.unreadCount = unreadCount(next);
	return next;
}

export function withReadSeq(group: Group, seq: number): Group {
	if (seq <= group.readSeq) return group;
	const next = { ...group, readSeq: Math.min(seq, Math.max(group.lastSeq, seq)) };
	next.unreadCount = unreadCount(next);
	return next;
}

/** Take a fresh copy from the server without losing newer local knowledge. */
export function mergeGroup(local: Group | undefined, incoming: Group): Group {
	if (!local) return { ...incoming, unreadCount: unreadCount(incoming) };
	const lastSeq = Math.max(local.lastSeq, incoming.lastSeq);
	const readSeq = Math.max(local.readSeq, incoming.readSeq);
	const lastMessage =
		!incoming.lastMessage || (local.lastMessage && local.lastMessage.seq > incoming.lastMessage.seq)
			? local.lastMessage
			: incoming.lastMessage;
	const next = { ...incoming, lastSeq, readSeq, lastMessage };
	next.unreadCount = unreadCount(next);
	return next;
}

/**
 * Fold a live event's GroupBase (name, members) into what we know. It carries no per-reader
 * fields, so those stay as they were, or start empty for a conversation we did not know.
 */
export function mergeGroupBase(local: Group | undefined, base: GroupBase): Group {
	const { id, type, name, members, memberCount, createdAt, updatedAt } = base;
	// Without activity, the server too dates a conversation from its creation.
	const reader = local ?? { lastSeq: 0, readSeq: 0, unreadCount: 0, lastMessage: null, lastActivityAt: createdAt };
	return { ...reader, id, type, name, members, memberCount, createdAt, updatedAt };
}
