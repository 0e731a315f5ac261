import type { GroupBase, GroupType, MemberRole } from "../../contract/groups.ts";
import type { StoredNotifications } from "./notifications.ts";

/** What the groups service stores, and how it becomes the conversation clients and events see. */

export interface GroupDoc {
	_id: string;
	type: GroupType;
	name: string;
	/** "userA:userB" with the ids sorted, only on direct conversations: one DM per pair. */
	directKey?: string;
	createdBy: string;
	createdAt: Date;
	updatedAt: Date;
	/** The group's picture (an image an owner or admin uploaded) and its URL, signed when it was set; absent: none. */
	avatarAssetId?: string | null;
	avatarUrl?: string | null;
	/** Changes of its members not all of whose steps are done yet, by id (moves.ts); absent or empty: none. */
	unsettled?: Record<string, UnsettledMove>;
}

/** A change of who is in a group, written on it before its memberships are, until every step of it is done. */
export interface UnsettledMove {
	type: "group.created" | "group.member.added" | "group.member.removed";
	userIds: string[];
	actorId: string;
	/** Its event is in the group's outbox and was broadcast; left: the messages side (the members' cursors). */
	recorded: boolean;
	at: Date;
}

export interface MembershipDoc {
	_id: string; // `${groupId}:${userId}`
	groupId: string;
	userId: string;
	role: MemberRole;
	joinedAt: Date;
	/** Who put the user in (themselves when they created it); missing on memberships from before it was kept. */
	addedBy?: string;
	/** The member's notification setting for this conversation (notifications.ts); absent: the default. */
	notifications?: StoredNotifications;
}

export type MemberEntry = Pick<MembershipDoc, "userId" | "role" | "joinedAt">;

export const membershipId = (groupId: string, userId: string) => `${groupId}:${userId}`;

export const directKeyOf = (a: string, b: string) => [a, b].sort().join(":");

/** Members in the order they joined. */
export function toGroupBase(group: GroupDoc, memberships: MemberEntry[]): GroupBase {
	const members = [...memberships]
		.sort((a, b) => new Date(a.joinedAt).getTime() - new Date(b.joinedAt).getTime())
		.map(m => ({ userId: m.userId, role: m.role }));
	return {
		id: group._id,
		type: group.type,
		name: group.name,
		members,
		memberCount: members.length,
		avatarUrl: group.avatarUrl ?? null,
		createdAt: new Date(group.createdAt).toISOString(),
		updatedAt: new Date(group.updatedAt).toISOString()
	};
}
