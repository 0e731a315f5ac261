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
	/** The group's image (owners and admins set it, as a profile avatar is set); null for none and for direct conversations. */
	avatarUrl: string | null;
	createdAt: string;
	updatedAt: string;
}

/** A conversation as one member sees it, with that member's read position. */
export interface Group extends GroupBase {
	lastSeq: number;
	readSeq: number;
	unreadCount: number;
	/** Unread messages that mention the caller (by name, `@here` while online, or `@all`). */
	mentionCount: number;
	/** Set by "mark as unread": the seq from which the caller wants it unread again (the read cursor does not move back). */
	unreadFrom: number | null;
	/** The caller's notification setting for this conversation. */
	notifications: NotificationSettings;
	lastMessage: Message | null;
	lastActivityAt: string;
}

/** A page of the conversation list, newest activity first; `next` is the opaque cursor of the next page (null: the last). */
export interface GroupList {
	items: Group[];
	next: string | null;
}

/** Every group event names the conversation, carries it as the change left it, and who did it. */
export interface GroupChange {
	groupId: string;
	group: GroupBase;
	memberIds: string[];
	actorId: string;
}

export interface MembersAdded extends GroupChange {
	userIds: string[];
}

export interface MemberRemoved extends GroupChange {
	userId: string;
}

export type NotificationLevel = "all" | "mentions" | "nothing";

export interface NotificationSettings {
	level: NotificationLevel;
	/** ISO time until which the conversation is muted (nothing notifies), or null. */
	mutedUntil: string | null;
}
