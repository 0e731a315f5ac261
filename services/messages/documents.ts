import type { Attachment, EventMessage, Message, ReplyRef, StoredAttachment } from "../../contract/messages.ts";
import { ATTACHMENT_URL_TTL_SECONDS, signedAssetUrl } from "../../lib/asset-urls.ts";
import { newId } from "../../lib/ids.ts";

/** What the messages service stores, and how a stored message becomes what the stream and clients see. */

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
	/** The conversation's change counter at this message's latest change (changes.ts); absent on messages older than versions (read as seq). */
	version?: number;
	/** The version its creation took: a message whose version is still this one is as it was sent. */
	createdVersion?: number;
	/** `${groupId}:${zero-padded version}`: unique, so a version is never given twice; a page of changes is one index range. */
	groupVersion?: string;
	editedAt?: Date | null;
	/** Earlier texts, oldest first (edits.ts); emptied when the message is deleted. */
	edits?: StoredEdit[];
	/** Absent when the message answers none. */
	replyTo?: ReplyRef;
}

export interface StoredEdit {
	content: string;
	editedAt: Date;
}

/** One member's receipts in one conversation. */
export interface CursorDoc {
	_id: string; // `${groupId}:${userId}`
	groupId: string;
	userId: string;
	deliveredSeq: number;
	readSeq: number;
}

/** The conversation's last seq as of the last deferred write: a hint, see Heads.latestMessages. */
export interface HeadDoc {
	_id: string; // the group's id
	lastSeq: number;
}

export const MAX_SEQ_DIGITS = 12;

export function groupSeqKey(groupId: string, seq: number): string {
	return `${groupId}:${String(seq).padStart(MAX_SEQ_DIGITS, "0")}`;
}

export function groupVersionKey(groupId: string, version: number): string {
	return `${groupId}:${String(version).padStart(MAX_SEQ_DIGITS, "0")}`;
}

/** Messages stored before versions existed changed last when they were created: their version is their seq. */
export const versionOf = (doc: Pick<MessageDoc, "seq" | "version">): number => doc.version ?? doc.seq;

export const cursorId = (groupId: string, userId: string) => `${groupId}:${userId}`;

export const clientKeyOf = (senderId: string, clientMessageId: string) => `${senderId}:${clientMessageId}`;

/** A send, before the sequencer gives it its seq. */
export interface MessageDraft {
	groupId: string;
	senderId: string;
	content: string;
	clientMessageId?: string;
	attachments: StoredAttachment[];
	createdAt: Date;
	replyTo?: ReplyRef;
}

export function storedMessage(draft: MessageDraft, seq: number, version: number): MessageDoc {
	const { groupId, senderId, clientMessageId } = draft;
	return {
		_id: newId(),
		groupId,
		seq,
		groupSeq: groupSeqKey(groupId, seq),
		senderId,
		content: draft.content,
		clientMessageId: clientMessageId ?? null,
		...(clientMessageId ? { clientKey: clientKeyOf(senderId, clientMessageId) } : {}),
		attachments: draft.attachments,
		createdAt: draft.createdAt,
		deletedAt: null,
		version,
		createdVersion: version,
		groupVersion: groupVersionKey(groupId, version),
		editedAt: null,
		...(draft.replyTo ? { replyTo: draft.replyTo } : {})
	};
}

export type MessageReceipts = Pick<Message, "status" | "deliveredCount" | "seenCount">;

function toAttachment(secret: string, stored: StoredAttachment, now: number): Attachment {
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

/** Stored facts only: a deleted message keeps its seq and loses its content. */
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
		deletedAt: deleted ? new Date(doc.deletedAt!).toISOString() : null,
		version: versionOf(doc),
		editedAt: doc.editedAt ? new Date(doc.editedAt).toISOString() : null,
		replyTo: doc.replyTo ?? null
	};
}

export function toMessage(doc: MessageDoc, secret: string, receipts: MessageReceipts = { status: "sent", deliveredCount: 0, seenCount: 0 }): Message {
	const stored = toEventMessage(doc);
	const now = Date.now();
	return { ...stored, attachments: stored.attachments.map(a => toAttachment(secret, a, now)), ...receipts };
}
