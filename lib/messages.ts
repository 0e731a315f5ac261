import { ATTACHMENT_URL_TTL_SECONDS, signedAssetUrl } from "./asset-urls.ts";

export type MessageStatus = "sent" | "delivered" | "seen";

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

/** A message as clients see it: the stored facts, attachments with signed URLs, and receipts from the sender's view. */
export interface Message extends Omit<EventMessage, "attachments"> {
	attachments: Attachment[];
	status: MessageStatus;
	deliveredCount: number;
	seenCount: number;
}

/** What a message keeps of an asset; URLs are signed when the message is served. */
export interface StoredAttachment {
	id: string;
	name: string;
	size: number;
	mimeType: string;
	width: number | null;
	height: number | null;
	hasThumbnail: boolean;
}

export interface MessageDoc {
	_id: string;
	groupId: string;
	seq: number;
	/** `${groupId}:${zero-padded seq}`: unique, so no seq is ever given twice; ordered, so a page is one index range. */
	groupSeq: string;
	senderId: string;
	content: string;
	clientMessageId: string | null;
	/** `${senderId}:${clientMessageId}`: unique, so a retried send finds the first copy. Absent without a clientMessageId. */
	clientKey?: string;
	attachments: StoredAttachment[];
	createdAt: Date;
	deletedAt: Date | null;
	deletedBy?: string;
}

export interface CursorDoc {
	_id: string; // `${groupId}:${userId}`
	groupId: string;
	userId: string;
	deliveredSeq: number;
	readSeq: number;
}

export interface Receipt {
	userId: string;
	deliveredSeq: number;
	readSeq: number;
}

export const MAX_SEQ_DIGITS = 12;

export function groupSeqKey(groupId: string, seq: number): string {
	return `${groupId}:${String(seq).padStart(MAX_SEQ_DIGITS, "0")}`;
}

export const cursorId = (groupId: string, userId: string) => `${groupId}:${userId}`;

function countAtLeast(sorted: number[], seq: number): number {
	let lo = 0;
	let hi = sorted.length;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (sorted[mid] < seq) lo = mid + 1;
		else hi = mid;
	}
	return sorted.length - lo;
}

/**
 * Receipts of one conversation, ready to answer "how many others have message `seq` delivered / seen"
 * in O(log members) per message. A message is delivered (seen) once every other member has it.
 */
export class ReceiptIndex {
	private readonly delivered: number[];
	private readonly read: number[];
	private readonly byUser: Map<string, Receipt>;

	constructor(receipts: Receipt[]) {
		this.byUser = new Map(receipts.map(r => [r.userId, r]));
		this.delivered = receipts.map(r => Math.max(r.deliveredSeq, r.readSeq)).sort((a, b) => a - b);
		this.read = receipts.map(r => r.readSeq).sort((a, b) => a - b);
	}

	statusOf(senderId: string, seq: number): Pick<Message, "status" | "deliveredCount" | "seenCount"> {
		const own = this.byUser.get(senderId);
		const others = this.byUser.size - (own ? 1 : 0);
		const deliveredCount = countAtLeast(this.delivered, seq) - (own && Math.max(own.deliveredSeq, own.readSeq) >= seq ? 1 : 0);
		const seenCount = countAtLeast(this.read, seq) - (own && own.readSeq >= seq ? 1 : 0);
		const status: MessageStatus =
			others > 0 && seenCount >= others ? "seen" : others > 0 && deliveredCount >= others ? "delivered" : "sent";
		return { status, deliveredCount, seenCount };
	}
}

export function toAttachment(secret: string, stored: StoredAttachment, now = Date.now()): Attachment {
	return {
		id: stored.id,
		name: stored.name,
		size: stored.size,
		mimeType: stored.mimeType,
		url: signedAssetUrl(secret, stored.id, "original", ATTACHMENT_URL_TTL_SECONDS, now),
		thumbnailUrl: stored.hasThumbnail ? signedAssetUrl(secret, stored.id, "thumb", ATTACHMENT_URL_TTL_SECONDS, now) : null,
		width: stored.width,
		height: stored.height
	};
}

/** A message as the stream carries it: stored facts only (no signed URLs, no receipt counts, which go stale). */
export interface EventMessage {
	id: string;
	groupId: string;
	seq: number;
	senderId: string;
	content: string;
	clientMessageId: string | null;
	attachments: StoredAttachment[];
	createdAt: string;
	deletedAt: string | null;
}

export function toEventMessage(doc: MessageDoc): EventMessage {
	const deleted = doc.deletedAt != null;
	return {
		id: doc._id,
		groupId: doc.groupId,
		seq: doc.seq,
		senderId: doc.senderId,
		content: deleted ? "" : doc.content,
		clientMessageId: doc.clientMessageId ?? null,
		attachments: deleted ? [] : (doc.attachments ?? []),
		createdAt: new Date(doc.createdAt).toISOString(),
		deletedAt: deleted ? new Date(doc.deletedAt!).toISOString() : null
	};
}

export function toMessage(
	doc: MessageDoc,
	secret: string,
	receipts: Pick<Message, "status" | "deliveredCount" | "seenCount"> = { status: "sent", deliveredCount: 0, seenCount: 0 }
): Message {
	const stored = toEventMessage(doc);
	const now = Date.now();
	return { ...stored, attachments: stored.attachments.map(a => toAttachment(secret, a, now)), ...receipts };
}
