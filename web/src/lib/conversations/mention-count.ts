import type { Group, Message } from '@scalable-chat/contract';
import { mentionsMe } from './summary';

/**
 * The conversation's unread mentions after an edit or a delete of one of its messages. Mentions are
 * resolved again on every edit and a deleted message counts no more, so the count moves by what the
 * message says now against what it said before; only unread messages (after `readSeq`, as the server
 * counts them) are in it. Null when the earlier version is not at hand and the answer depends on it:
 * then only the server can tell.
 */
export function mentionCountAfterChange(
	group: Pick<Group, 'lastSeq' | 'readSeq' | 'mentionCount'>,
	changed: Message,
	previous: Message | undefined,
	myUserId: string
): number | null {
	const count = group.mentionCount ?? 0;
	if (changed.seq <= group.readSeq || changed.senderId === myUserId) return count;
	const now = mentionsMe(changed, myUserId);
	if (previous) return Math.max(0, count + Number(now) - Number(mentionsMe(previous, myUserId)));
	// Nothing counted that it could take away, or every unread message counted already (this one too).
	if (!now && count === 0) return count;
	if (now && count >= group.lastSeq - group.readSeq) return count;
	return null;
}
