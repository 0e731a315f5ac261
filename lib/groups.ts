import type { Message } from "./messages.ts";

export type GroupType = "group" | "direct";
export type MemberRole = "owner" | "admin" | "member";

export interface Member {
	userId: string;
	role: MemberRole;
}

/** A conversation as every member sees it (what events carry). */
export interface GroupBase {
	id: string;
	type: GroupType;
	name: string;
	members: Member[];
	memberCount: number;
	createdAt: string;
	updatedAt: string;
}

/** A conversation as one member sees it, with that member's read position. */
export interface Group extends GroupBase {
	lastSeq: number;
	readSeq: number;
	unreadCount: number;
	lastMessage: Message | null;
	lastActivityAt: string;
}

export interface GroupDoc {
	_id: string;
	type: GroupType;
	name: string;
	/** "userA:userB" with the ids sorted, only on direct conversations: one DM per pair. */
	directKey?: string;
	createdBy: string;
	createdAt: Date;
	updatedAt: Date;
}

export interface MembershipDoc {
	_id: string; // `${groupId}:${userId}`
	groupId: string;
	userId: string;
	role: MemberRole;
	joinedAt: Date;
}

export const membershipId = (groupId: string, userId: string) => `${groupId}:${userId}`;

/** Per-viewer state of a conversation, owned by the messages service. */
export interface ConversationHead {
	groupId: string;
	lastSeq: number;
	readSeq: number;
	deliveredSeq: number;
	lastMessage: Message | null;
	lastActivityAt: string | null;
}

export const canManageMembers = (role: MemberRole | undefined) => role === "owner" || role === "admin";
