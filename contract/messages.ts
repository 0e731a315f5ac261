export type DeliveryStatus = "sent" | "delivered" | "seen";

/** What a message keeps of an asset; the stream (Kafka) carries this, clients get signed URLs instead. */
export interface StoredAttachment {
	id: string;
	name: string;
	size: number;
	mimeType: string;
	width: number | null;
	height: number | null;
	hasThumbnail: boolean;
}

export interface Attachment {
	id: string;
	name: string;
	size: number;
	mimeType: string;
	/** Signed, expiring download URL. */
	url: string;
	thumbnailUrl: string | null;
	width: number | null;
	height: number | null;
}

/**
 * What a reply shows of the message it answers, kept current by the server: the excerpt follows edits of
 * the original and is null once the original is deleted (each such change gives the reply a new `version`).
 */
export interface ReplyRef {
	id: string;
	seq: number;
	senderId: string;
	/** The original's first 140 characters; null when the original was deleted. */
	excerpt: string | null;
}

/** A message as the stream carries it: stored facts only (no signed URLs, no receipt counts, which go stale). */
export interface EventMessage {
	id: string;
	groupId: string;
	/** Gapless per conversation, from 1. */
	seq: number;
	senderId: string;
	content: string;
	clientMessageId: string | null;
	attachments: StoredAttachment[];
	createdAt: string;
	deletedAt: string | null;
	/**
	 * The conversation's change counter at this message's latest change (create, edit, delete, a reply's
	 * excerpt refresh): larger means newer. Messages stored before versions existed report their seq.
	 */
	version: number;
	editedAt: string | null;
	replyTo: ReplyRef | null;
}

/** A message as clients see it: the stored facts, attachments with signed URLs, and receipts from the sender's view. */
export interface Message extends Omit<EventMessage, "attachments"> {
	attachments: Attachment[];
	status: DeliveryStatus;
	deliveredCount: number;
	seenCount: number;
}

/** One member's cursors in a conversation: delivered up to, read up to (both only move forward). */
export interface Receipt {
	userId: string;
	deliveredSeq: number;
	readSeq: number;
}

export interface HistoryPage {
	items: Message[];
}

export interface ReceiptMove {
	groupId: string;
	seq: number;
	/** Whether this call moved the cursor (false when it was already there). */
	moved: boolean;
}

/** A receipt event: `userId` has messages up to `seq` delivered (or seen). */
export interface ReceiptEvent {
	groupId: string;
	userId: string;
	seq: number;
}

export interface SyncItem {
	groupId: string;
	messages: Message[];
	/**
	 * Only when the request carried `since`: messages at or below the client's cursor changed (edited,
	 * deleted, a reply's excerpt refreshed) since that token, oldest change first; apply them by id.
	 */
	changed?: Message[];
	/** More new messages (`messages`) or more changes (`changed`) are waiting: sync again with the new cursors and token. */
	hasMore: boolean;
	lastSeq: number;
	receipts: Receipt[];
}

export interface SyncRequest {
	cursors: Record<string, number>;
	/** The `syncToken` of the previous sync. */
	since?: string;
}

export interface SyncResult {
	items: SyncItem[];
	/** Opaque: pass it back as `since` to receive `changed`; it replaces every earlier token. */
	syncToken: string;
	/** Conversations the caller asked about but does not belong to. */
	unknownGroupIds: string[];
}

export interface SendMessageRequest {
	groupId: string;
	content?: string;
	clientMessageId?: string;
	attachments?: { assetId: string }[];
	/** The id of the message this one answers, in the same conversation. */
	replyTo?: string;
}

export interface EditMessageRequest {
	messageId: string;
	content: string;
}

/** One earlier text of an edited message. */
export interface MessageEdit {
	content: string;
	/** When this text was written: the message's createdAt for the first one, the time of the edit for later ones. */
	editedAt: string;
}

export interface EditHistory {
	/** Oldest first; the current text is the message's own content. */
	items: MessageEdit[];
}

/** A receipt names a seq, or a message by id. */
export interface ReceiptRequest {
	groupId: string;
	seq?: number;
	messageId?: string;
}
