import type { Context } from "moleculer";
import type { MentionAllPolicy } from "../../lib/config.ts";
import { membershipOf, type UserContext } from "../../lib/session.ts";
import type { MessageDoc } from "./documents.ts";
import { mentionFields } from "./mention-counts.ts";
import { mayMentionAll, mentionTokens, NO_MENTIONS, resolveMentions, type MentionLookups } from "./mentions.ts";

/** The conversation's members, users by name and who is online, through the services that own them. */
function brokerLookups(ctx: Context, groupId: string): MentionLookups {
	return {
		userIdsByName: usernames => ctx.call<string[], object>("users.idsByUsernames", { usernames }),
		memberIds: () => ctx.call<string[], object>("groups.memberIds", { groupId }),
		online: userIds => (userIds.length ? ctx.call<string[], object>("presence.activeUsers", { userIds }) : Promise.resolve([]))
	};
}

export type MentionDocFields = Pick<MessageDoc, "mentions" | "mentionsAll" | "mentionKeys">;

/**
 * The mention fields to store with a message of the caller's in `groupId` (they are a member: the action
 * declares `conversation`), or null when it mentions nobody. Text without an `@` is answered without a call.
 */
export async function mentionsOf(ctx: UserContext<unknown>, groupId: string, content: string, policy: MentionAllPolicy): Promise<MentionDocFields | null> {
	const tokens = mentionTokens(content);
	if (!tokens) return null;
	const allowedAll = (tokens.all || tokens.here) && mayMentionAll(policy, membershipOf(ctx));
	const resolved = await resolveMentions(tokens, ctx.meta.user.id, allowedAll, brokerLookups(ctx, groupId));
	return resolved.mentions.length || resolved.mentionsAll ? mentionFields(groupId, resolved) : null;
}

/** What an edit stores: the new text's mentions, or none (clearing those of the text it replaces). */
export const editedMentions = (groupId: string, found: MentionDocFields | null): MentionDocFields => found ?? mentionFields(groupId, NO_MENTIONS);
