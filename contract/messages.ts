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
	hasMore: boolean;
	lastSeq: number;
	receipts: Receipt[];
}

export interface SyncResult {
	items: SyncItem[];
	/** Conversations the caller asked about but does not belong to. */
	unknownGroupIds: string[];
}

export interface SendMessageRequest {
	groupId: string;
	content?: string;
	clientMessageId?: string;
	attachments?: { assetId: string }[];
}

/** A receipt names a seq, or a message by id. */
export interface ReceiptRequest {
	groupId: string;
	seq?: number;
	messageId?: string;
}
