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
	/** Who reacted with what, as stored (no `me`: the stream has no viewer). */
	reactions: EventReaction[];
	/** Members this message mentions (`@username` resolved on send and on every edit; `@here` adds the members online then). */
	mentions: string[];
	/** `@all` by someone allowed to use it: every member counts it as a mention. */
	mentionsAll: boolean;
	/** Set for a system line ("Alice added Bob"): `senderId` is whoever did it, `content` is empty. */
	system: SystemLine | null;
	/** The first link's preview, attached by the server after the send (a change with its own version). */
	preview: StoredLinkPreview | null;
}

/** One emoji on a message: how many, and the first few who chose it (oldest first). */
export interface EventReaction {
	emoji: string;
	count: number;
	/** The first `REACTION_USERS_SHOWN` (10) users who chose it. */
	userIds: string[];
}

export interface Reaction extends EventReaction {
	/** The caller chose this emoji. */
	me: boolean;
}

/** A change of a group after its creation, shown in its timeline and ordered with its messages (it takes a seq like one). */
export type SystemLine =
	| { type: "members.added"; userIds: string[] }
	| { type: "member.removed"; userId: string }
	| { type: "member.left" }
	| { type: "group.renamed"; name: string; previousName: string }
	| { type: "group.avatar"; avatarUrl: string | null }
	| { type: "role.changed"; userId: string; role: "owner" | "admin" | "member" };

export interface LinkPreview {
	url: string;
	title: string | null;
	description: string | null;
	siteName: string | null;
	/** Re-served through the asset pipeline (a signed URL for clients), or null when the page had none or it was dropped. */
	image: string | null;
}

/** A preview as stored and streamed: its image is our asset (clients get a signed URL instead). */
export interface StoredLinkPreview extends Omit<LinkPreview, "image"> {
	image: { id: string; width: number | null; height: number | null; hasThumbnail: boolean } | null;
}

/** A message as clients see it: the stored facts, attachments with signed URLs, and receipts from the sender's view. */
export interface Message extends Omit<EventMessage, "attachments" | "reactions" | "preview"> {
	attachments: Attachment[];
	preview: LinkPreview | null;
	reactions: Reaction[];
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
	/**
	 * The caller's own read cursor and "mark as unread" marker, as `Group` shows them (another device may have moved
	 * them). A `group.read-state` (or a message of the caller's own) heard while the sync was on its way is newer: keep it.
	 */
	readState: { readSeq: number; unreadFrom: number | null };
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

/** "Mark as unread" from message `seq` on: the caller's own marker, the read cursor others see stays. */
export interface MarkUnreadRequest {
	groupId: string;
	seq: number;
}

/** The caller's read state of one conversation (the answer to mark-unread, and `group.read-state` to their devices). */
export interface ReadState {
	groupId: string;
	readSeq: number;
	/** Unread again from this seq (mark as unread), or null. */
	unreadFrom: number | null;
}

/** Toggle one emoji of the caller on a message (`on: false` takes it back). */
export interface ReactRequest {
	messageId: string;
	/** One emoji (a single grapheme that is an emoji, skin tones and ZWJ sequences included). */
	emoji: string;
	on: boolean;
}

/** Members receive this when a message's reactions change; `actorId`/`emoji`/`on` say what changed, so each client can keep its own `me`. */
export interface ReactionsEvent {
	groupId: string;
	messageId: string;
	version: number;
	reactions: EventReaction[];
	actorId: string;
	emoji: string;
	on: boolean;
}

/** Who has seen a message and who has it only delivered, from the members' cursors (the sender excluded). */
export interface MessageReceipts {
	messageId: string;
	seenBy: string[];
	deliveredTo: string[];
	/** Members who have neither yet. */
	pending: string[];
}
