import type {
	Attachment,
	EventMessage,
	EventReaction,
	LinkPreview,
	Message,
	ReplyRef,
	StoredAttachment,
	StoredLinkPreview,
	SystemLine
} from "../../contract/messages.ts";
import { ATTACHMENT_URL_TTL_SECONDS, signedAssetUrl } from "../../lib/asset-urls.ts";
import { newOrderedId } from "../../lib/ids.ts";

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
	/** Summary kept with the message (the reactions service of record is its own collection); absent: none. */
	reactions?: EventReaction[];
	mentions?: string[];
	mentionsAll?: boolean;
	/** `${groupId}:${userId}` per mention and `${groupId}:@all`: what a member's unread mentions are counted by (mention-counts.ts). */
	mentionKeys?: string[];
	system?: SystemLine;
	preview?: StoredLinkPreview | null;
	/** The link whose preview was settled (being fetched, attached, failed or removed): it is not fetched again (link-previews). */
	previewFor?: string;
	/** The author removed the preview of `previewFor`. */
	previewRemoved?: boolean;
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
	/** "Mark as unread" from this seq (unread.ts); absent or null: none. */
	unreadFrom?: number | null;
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

/** A change's version and the unique key that claims it: always written together. */
export function versionFields(groupId: string, version: number): Pick<MessageDoc, "version" | "groupVersion"> {
	return { version, groupVersion: groupVersionKey(groupId, version) };
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
	/** A group change as a line of the timeline (system-lines.ts); its content is "". */
	system?: SystemLine;
	/** Absent when the text mentions nobody (mention-counts.ts mentionFields). */
	mentions?: Pick<MessageDoc, "mentions" | "mentionsAll" | "mentionKeys">;
}

export function storedMessage(draft: MessageDraft, seq: number, version: number): MessageDoc {
	const { groupId, senderId, clientMessageId } = draft;
	return {
		// Ordered: the store's _id index takes a new message at its right edge (see newOrderedId).
		_id: newOrderedId(),
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
		...versionFields(groupId, version),
		createdVersion: version,
		editedAt: null,
		...(draft.replyTo ? { replyTo: draft.replyTo } : {}),
		...(draft.system ? { system: draft.system } : {}),
		...draft.mentions
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
		// A tombstone keeps which message it answered, not that message's text (also for those stored before deletes cleared it).
		replyTo: doc.replyTo ? (deleted ? { ...doc.replyTo, excerpt: null } : doc.replyTo) : null,
		reactions: deleted ? [] : (doc.reactions ?? []),
		mentions: deleted ? [] : (doc.mentions ?? []),
		mentionsAll: deleted ? false : (doc.mentionsAll ?? false),
		system: doc.system ?? null,
		preview: deleted ? null : (doc.preview ?? null)
	};
}

/** `mine`: the viewer's emoji on this message (reactions.ts viewerReactions); without a viewer (a broadcast) every `me` is false. */
export function toMessage(
	doc: MessageDoc,
	secret: string,
	receipts: MessageReceipts = { status: "sent", deliveredCount: 0, seenCount: 0 },
	mine?: ReadonlySet<string>
): Message {
	const stored = toEventMessage(doc);
	const now = Date.now();
	const reactions = stored.reactions.map(r => ({ ...r, me: mine?.has(r.emoji) ?? false }));
	return {
		...stored,
		attachments: stored.attachments.map(a => toAttachment(secret, a, now)),
		reactions,
		preview: stored.preview && toLinkPreview(secret, stored.preview, now),
		...receipts
	};
}

/** The preview's image is served like an attachment: a signed URL, its thumbnail when there is one. */
function toLinkPreview(secret: string, stored: StoredLinkPreview, now: number): LinkPreview {
	const { image, ...text } = stored;
	const url = image && signedAssetUrl(secret, image.id, image.hasThumbnail ? "thumb" : "original", ATTACHMENT_URL_TTL_SECONDS, now);
	return { ...text, image: url };
}
