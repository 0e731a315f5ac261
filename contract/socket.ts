import type { ErrorBody } from "./errors.ts";
import type { GroupBase, MemberRemoved, MembersAdded, NotificationSettings } from "./groups.ts";
import type { ConnectionStatus, Presence, PresenceList, TypingEvent } from "./presence.ts";
import type { SearchRequest, SearchResult } from "./search.ts";
import type {
	EditMessageRequest,
	MarkUnreadRequest,
	Message,
	ReactRequest,
	ReactionsEvent,
	ReadState,
	ReceiptEvent,
	ReceiptMove,
	ReceiptRequest,
	SendMessageRequest,
	SyncRequest,
	SyncResult
} from "./messages.ts";
import type { User } from "./users.ts";

/** Every client request is acknowledged with its result, or with the error. */
export type Ack<T> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

/** Client → server: each event's payload and what its ack carries when it succeeds. */
export interface ClientEvents {
	"chat.message.send": { payload: SendMessageRequest; result: { message: Message } };
	/** The author replaces the text of a message. */
	"chat.message.edit": { payload: EditMessageRequest; result: { message: Message } };
	/** Toggle one of the caller's reactions on a message. */
	"chat.message.react": { payload: ReactRequest; result: ReactionsEvent };
	"chat.message.delivered": { payload: ReceiptRequest; result: ReceiptMove };
	"chat.message.seen": { payload: ReceiptRequest; result: ReceiptMove };
	/** Mark the conversation unread from `seq` on (the caller's own marker; receipts others see stay). */
	"chat.message.unread": { payload: MarkUnreadRequest; result: ReadState };
	"chat.sync": { payload: SyncRequest; result: SyncResult };
	"presence.query": { payload: { userIds: string[] }; result: PresenceList };
	/** The same search as `GET /api/search` (and the same rate limit). */
	"search.query": { payload: SearchRequest; result: SearchResult };
	"typing.start": { payload: { groupId: string }; result: { groupId: string } };
	"typing.stop": { payload: { groupId: string }; result: { groupId: string } };
	"user.heartbeat": { payload: { status?: ConnectionStatus }; result: { status: ConnectionStatus } };
	/** Replaces the access token of a live connection before it expires. */
	"auth.refresh": { payload: { token: string }; result: { exp: number } };
}

export type ClientEventName = keyof ClientEvents;

export interface Announcement {
	text: string;
	groupId: string | null;
	at: string;
}

export interface SessionRevoked {
	/** Why, for the sign-in page. */
	reason: string;
}

/** Server → client: each event and its payload. */
export interface ServerEvents {
	"chat.message.incoming": Message;
	"chat.message.deleted": Message;
	/** A message changed (edited, or the excerpt of the message it replies to changed): replace it by id. */
	"chat.message.updated": Message;
	"chat.message.reactions": ReactionsEvent;
	"chat.message.delivered": ReceiptEvent;
	"chat.message.seen": ReceiptEvent;
	/** The user's own read state of a conversation changed on one of their devices (marked unread, or read again): to their sockets only. */
	"group.read-state": ReadState;
	typing: TypingEvent;
	"user.presence": Presence;
	"user.updated": User;
	"group.created": GroupBase;
	"group.updated": GroupBase;
	"group.member.added": Pick<MembersAdded, "groupId" | "userIds" | "group">;
	/** `actorId`: who took `userId` out, `userId` themself when they left (another device of theirs tells "left" from "removed" by it). */
	"group.member.removed": Pick<MemberRemoved, "groupId" | "userId" | "group" | "actorId">;
	/** The caller changed a conversation's notification setting (on any device): every device of theirs applies it. */
	"group.notifications": { groupId: string; notifications: NotificationSettings };
	"system.announcement": Announcement;
	"server.shutdown": { reconnect: boolean };
	"auth.expired": void;
	/** Every session of the user was ended (an operator's `kick`): sign in again; the socket is closed next. */
	"session.revoked": SessionRevoked;
	/** Sent right before the server closes this socket on purpose (it kept flooding past its event budget). */
	"connection.closing": { reason: ConnectionClosingReason; retryAfterMs: number };
}

export type ConnectionClosingReason = "flooding";

export type ServerEventName = keyof ServerEvents;

/** Why a handshake was refused: `connect_error`'s message, with `data.type`. */
export type HandshakeRefusal = "unauthorized" | "token_expired" | "unavailable" | "too_many_connections";
