import type { Group, GroupBase, Message, ReadState } from '@scalable-chat/contract';

/** Unread messages of a conversation, as the client derives it: from the "mark as unread" marker when there is one. */
export function unreadCount(group: Pick<Group, 'lastSeq' | 'readSeq'> & { unreadFrom?: number | null }): number {
	if (group.unreadFrom != null && group.unreadFrom <= group.readSeq)
		return Math.max(0, group.lastSeq - group.unreadFrom + 1);
	return Math.max(0, group.lastSeq - group.readSeq);
}

/**
 * Where the "New messages" divider goes when the conversation is opened: after this seq (the last one
 * read, or the one before the "mark as unread" marker); null when nothing is unread.
 */
export function readMarkerOf(group: Pick<Group, 'lastSeq' | 'readSeq' | 'unreadFrom'>): number | null {
	if (group.unreadFrom != null && group.unreadFrom <= group.readSeq) return group.unreadFrom - 1;
	return group.readSeq < group.lastSeq ? group.readSeq : null;
}

/** My read state from the server (mark as unread, or read again on another device). */
export function withReadState(group: Group, state: ReadState): Group {
	const next = { ...group, readSeq: Math.max(group.readSeq, state.readSeq), unreadFrom: state.unreadFrom };
	next.unreadCount = unreadCount(next);
	return next;
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
	const mine = message.senderId === options.myUserId;
	if (mine || options.visible) readSeq = Math.max(readSeq, message.seq);
	const next: Group = {
		...group,
		lastSeq,
		readSeq,
		lastMessage: isNewest ? message : group.lastMessage,
		// Writing in a conversation reads it: a new message of mine clears "mark as unread" (the server's rule).
		unreadFrom: mine && message.seq > group.readSeq ? null : group.unreadFrom
	};
	next.unreadCount = unreadCount(next);
	// Counted once, when the message is new to us; reading up to the end clears it (withReadSeq).
	if (message.seq > group.lastSeq && message.seq > readSeq && mentionsMe(message, options.myUserId))
		next.mentionCount = (group.mentionCount ?? 0) + 1;
	return next;
}

/** Whether a message from someone else mentions this user (by name, or `@all`). */
export function mentionsMe(message: Message, myUserId: string): boolean {
	if (message.senderId === myUserId || message.deletedAt) return false;
	return message.mentionsAll || (message.mentions ?? []).includes(myUserId);
}

/** A read up to `seq`; one that reaches the read cursor also clears the "mark as unread" marker (as the server does). */
export function withReadSeq(group: Group, seq: number): Group {
	const clears = group.unreadFrom != null && seq >= group.readSeq;
	if (seq <= group.readSeq && !clears && !group.mentionCount) return group;
	const next = { ...group, readSeq: Math.max(group.readSeq, seq), unreadFrom: null };
	next.unreadCount = unreadCount(next);
	if (next.unreadCount === 0) next.mentionCount = 0;
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
	// A read here that went past the server's copy has cleared the marker it carries.
	const unreadFrom = local.readSeq > incoming.readSeq ? null : incoming.unreadFrom;
	const next = { ...incoming, lastSeq, readSeq, unreadFrom, lastMessage };
	next.unreadCount = unreadCount(next);
	if (next.unreadCount === 0) next.mentionCount = 0;
	return next;
}

/**
 * Fold a live event's GroupBase (name, members) into what we know. It carries no per-reader
 * fields, so those stay as they were, or start empty for a conversation we did not know.
 */
export function mergeGroupBase(local: Group | undefined, base: GroupBase): Group {
	const { id, type, name, members, memberCount, avatarUrl, createdAt, updatedAt } = base;
	// Without activity, the server too dates a conversation from its creation.
	const reader = local ?? {
		lastSeq: 0,
		readSeq: 0,
		unreadCount: 0,
		mentionCount: 0,
		unreadFrom: null,
		notifications: { level: 'all' as const, mutedUntil: null },
		lastMessage: null,
		lastActivityAt: createdAt
	};
	return { ...reader, id, type, name, members, memberCount, avatarUrl: avatarUrl ?? null, createdAt, updatedAt };
}
