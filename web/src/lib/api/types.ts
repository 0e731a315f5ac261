// Shapes of the backend contract (REST and socket payloads).

export interface User {
	id: string;
	username: string;
	displayName: string;
	avatarUrl: string | null;
	statusText: string;
}

export interface Attachment {
	id: string;
	name: string;
	size: number;
	mimeType: string;
	url: string;
	thumbnailUrl: string | null;
	width: number | null;
	height: number | null;
}

/** An uploaded file; same shape as a message attachment. */
export type Asset = Attachment;

export type DeliveryStatus = 'sent' | 'delivered' | 'seen';

export interface Message {
	id: string;
	groupId: string;
	seq: number;
	senderId: string;
	content: string;
	clientMessageId: string | null;
	attachments: Attachment[];
	createdAt: string;
	deletedAt: string | null;
	status: DeliveryStatus;
	deliveredCount: number;
	seenCount: number;
}

export type MemberRole = 'owner' | 'admin' | 'member';

export interface Member {
	userId: string;
	role: MemberRole;
}

export type GroupType = 'group' | 'direct';

export interface Group {
	id: string;
	type: GroupType;
	name: string;
	members: Member[];
	lastSeq: number;
	unreadCount: number;
	readSeq: number;
	lastMessage: Message | null;
	createdAt: string;
	updatedAt: string;
}

/** A conversation as live events carry it: no per-reader fields (lastSeq, readSeq, unread, last message). */
export type GroupBase = Omit<Group, 'lastSeq' | 'unreadCount' | 'readSeq' | 'lastMessage'> & { memberCount?: number };

export type PresenceStatus = 'online' | 'away' | 'offline';

export interface Presence {
	userId: string;
	status: PresenceStatus;
	lastSeen: string | null;
}

/** Per-member read/delivery cursors of one conversation. */
export interface ReceiptCursor {
	userId: string;
	deliveredSeq: number;
	readSeq: number;
}

export interface AuthResult {
	user: User;
	accessToken: string;
	refreshToken: string;
	expiresIn: number;
}

export interface TokenPair {
	accessToken: string;
	refreshToken: string;
	expiresIn: number;
}

export interface ApiErrorBody {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}

export interface SyncItem {
	groupId: string;
	messages: Message[];
	hasMore: boolean;
	lastSeq: number;
	receipts: ReceiptCursor[];
}
