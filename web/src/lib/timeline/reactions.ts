import type { Message, Reaction, ReactionsEvent } from '@scalable-chat/contract';

/** Offered on hover and long-press before the full picker. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🎉'];

/** The caller's own toggle, applied before the server confirms it (and undone the same way if it refuses). */
export function toggleReaction(reactions: Reaction[], emoji: string, on: boolean, myUserId: string): Reaction[] {
	const existing = reactions.find(r => r.emoji === emoji);
	if (on) {
		if (existing?.me) return reactions;
		if (!existing) return [...reactions, { emoji, count: 1, userIds: [myUserId], me: true }];
		return reactions.map(r =>
			r === existing ? { ...r, count: r.count + 1, userIds: [...r.userIds, myUserId], me: true } : r
		);
	}
	if (!existing?.me) return reactions;
	if (existing.count <= 1) return reactions.filter(r => r !== existing);
	return reactions.map(r =>
		r === existing ? { ...r, count: r.count - 1, userIds: r.userIds.filter(id => id !== myUserId), me: false } : r
	);
}

/**
 * A message with the reactions of a live event. The event has no viewer, so `me` comes from what it says
 * changed when the caller did it, and otherwise stays what it was (the listed userIds are only the first few).
 * Null when the event is older than the copy held.
 */
export function withReactions(message: Message, event: ReactionsEvent, myUserId: string): Message | null {
	if (event.version < message.version) return null;
	const mine = new Map(message.reactions.map(r => [r.emoji, r.me]));
	const reactions = event.reactions.map(r => ({
		...r,
		me:
			event.actorId === myUserId && r.emoji === event.emoji
				? event.on
				: (mine.get(r.emoji) ?? false) || r.userIds.includes(myUserId)
	}));
	return { ...message, reactions, version: event.version };
}

/** "You, Alice and Bob", "Alice, Bob and 4 others": who chose an emoji, from the first few listed (`nameOf` names the reader "You"). */
export function reactorsText(reaction: Reaction, nameOf: (userId: string) => string, myUserId: string): string {
	const names = reaction.userIds.map(nameOf);
	if (reaction.me && !reaction.userIds.includes(myUserId)) names.unshift('You');
	const others = Math.max(0, reaction.count - names.length);
	if (others > 0) return `${names.join(', ')} and ${others} other${others === 1 ? '' : 's'}`;
	if (names.length <= 1) return names[0] ?? '';
	return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
