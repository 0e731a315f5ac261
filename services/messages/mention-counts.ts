import type { Collection, IndexSpec } from "../../mixins/db.mixin.ts";
import type { MessageDoc } from "./documents.ts";
import type { ConversationHead } from "./heads.ts";
import type { StoredMentions } from "./mentions.ts";

/**
 * A member's unread mentions per conversation (`Group.mentionCount`): messages after their read cursor
 * that name them (or `@here` while they were online) or say `@all`, not their own, not deleted. Each
 * mentioning message carries `mentionKeys` (`groupId:userId` per mentioned member, `groupId:@all`), so
 * the count is one index range per conversation with unread messages: (key, seq > readSeq). Read
 * conversations, the common case, cost nothing; nothing is written on the send path beyond the keys.
 */

/** Mongo uses both fields; NeDB indexes the first (each element of the array), the seq bound filters what it finds. */
export const MENTION_INDEX: IndexSpec = { fields: { mentionKeys: 1, seq: 1 }, sparse: true };

const memberKey = (groupId: string, userId: string) => `${groupId}:${userId}`;
const allKey = (groupId: string) => `${groupId}:@all`;

/** What a message stores of its mentions. */
export function mentionFields(groupId: string, mentions: StoredMentions): Required<Pick<MessageDoc, "mentions" | "mentionsAll" | "mentionKeys">> {
	return {
		mentions: mentions.mentions,
		mentionsAll: mentions.mentionsAll,
		mentionKeys: [...mentions.mentions.map(id => memberKey(groupId, id)), ...(mentions.mentionsAll ? [allKey(groupId)] : [])]
	};
}

/** The unread mentions of one member in one conversation, after `readSeq`. */
export function unreadMentions(log: Pick<Collection<MessageDoc>, "count">, groupId: string, userId: string, readSeq: number): Promise<number> {
	return log.count({
		mentionKeys: { $in: [memberKey(groupId, userId), allKey(groupId)] },
		seq: { $gt: readSeq },
		senderId: { $ne: userId },
		deletedAt: null
	});
}

/** The viewer's heads with their unread mentions, counted only where something is unread. */
export async function withMentionCounts(
	log: Pick<Collection<MessageDoc>, "count">,
	heads: ConversationHead[],
	userId: string
): Promise<(ConversationHead & { mentionCount: number })[]> {
	return Promise.all(
		heads.map(async head => ({
			...head,
			mentionCount: head.lastSeq > head.readSeq ? await unreadMentions(log, head.groupId, userId, head.readSeq) : 0
		}))
	);
}
