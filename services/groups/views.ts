import type { Context } from "moleculer";
import type { Group, GroupBase, NotificationSettings } from "../../contract/groups.ts";
import type { ConversationHead } from "../messages/heads.ts";
import { effectiveUnreadFrom, unreadCountOf } from "../messages/unread.ts";
import { toGroupBase, type GroupDoc } from "./documents.ts";
import type { Memberships } from "./memberships.ts";
import { DEFAULT_NOTIFICATIONS, toNotificationSettings } from "./notifications.ts";

/** The conversation as one member sees it: their head from the messages service (none yet: nothing sent). */
export function toGroup(base: GroupBase, head: ConversationHead | undefined, notifications: NotificationSettings = DEFAULT_NOTIFICATIONS): Group {
	const lastSeq = head?.lastSeq ?? 0;
	const readSeq = Math.min(head?.readSeq ?? 0, lastSeq);
	const unreadFrom = effectiveUnreadFrom(head?.unreadFrom, readSeq);
	return {
		...base,
		lastSeq,
		readSeq,
		unreadCount: unreadCountOf(lastSeq, readSeq, unreadFrom),
		mentionCount: head?.mentionCount ?? 0,
		unreadFrom,
		notifications,
		lastMessage: head?.lastMessage ?? null,
		lastActivityAt: head?.lastActivityAt ?? base.createdAt
	};
}

/** The viewer's heads of these conversations, from the messages service. */
export function headsOf(ctx: Context, groupIds: string[], userId: string): Promise<ConversationHead[]> {
	return groupIds.length ? ctx.call<ConversationHead[], object>("messages.heads", { groupIds, userId }) : Promise.resolve([]);
}

/** Each group as `userId` sees it, heads read through the messages service (unless already at hand). */
export async function viewsOf(memberships: Memberships, ctx: Context, groups: GroupDoc[], userId: string, knownHeads?: ConversationHead[]): Promise<Group[]> {
	if (groups.length === 0) return [];
	const ids = groups.map(g => g._id);
	const [members, heads] = await Promise.all([memberships.inGroups(ids), knownHeads ?? headsOf(ctx, ids, userId)]);
	const headOf = new Map(heads.map(h => [h.groupId, h]));
	return groups.map(group =>
		toGroup(
			toGroupBase(
				group,
				members.filter(m => m.groupId === group._id)
			),
			headOf.get(group._id),
			toNotificationSettings(members.find(m => m.groupId === group._id && m.userId === userId)?.notifications)
		)
	);
}
