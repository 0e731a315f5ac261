import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type {
	EditHistory,
	MarkUnreadRequest,
	Message,
	ReactionsEvent,
	MessageReceipts,
	Receipt,
	ReadState,
	ReceiptMove,
	ReceiptRequest,
	SendMessageRequest,
	SyncRequest,
	SyncResult,
	SystemLine
} from "../../contract/messages.ts";
import { DbCollections, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { chatConfig, type MentionAllPolicy } from "../../lib/config.ts";
import { conflict, forbidden, invalidField } from "../../lib/errors.ts";
import { CHAT_METRICS } from "../../lib/metrics.ts";
import { OUTBOX_INDEX } from "../../lib/outbox.ts";
import { clientMessageIdParam, contentParam, idList, idParam, limitParam, params, seqParam } from "../../lib/params.ts";
import { entityOf, membershipOf, type MemberContext, type UserContext } from "../../lib/session.ts";
import { resolveAttachments } from "./attachments.ts";
import { storedLastVersion } from "./changes.ts";
import { Cursors, RECEIPT_EVENTS, type CursorField } from "./cursors.ts";
import { clientKeyOf, groupVersionKey, type CursorDoc, type HeadDoc, type MessageDoc, type MessageDraft } from "./documents.ts";
import { assertEditable, edited, editUpdate, historyOf } from "./edits.ts";
import { Heads, type ConversationHead } from "./heads.ts";
import { MENTION_INDEX, withMentionCounts } from "./mention-counts.ts";
import { editedMentions, mentionsOf } from "./message-mentions.ts";
import { dropReactions, toggleReaction } from "./reaction-change.ts";
import { checkedEmoji, type ReactionDoc } from "./reactions.ts";
import { MessagesOpsActions } from "./ops.ts";
import { MessagesPreviewActions } from "./previews.ts";
import { changeMessage } from "./message-change.ts";
import { hitsPage, sourcePage, TEXT_INDEX, type HitsPage, type HitsRequest, type SourcePage } from "./search-door.ts";
import { historyRange, PAGE_POSITIONS, pageOf, type HistoryPage } from "./pages.ts";
import { receiptListsOf, resolveSeq } from "./receipts.ts";
import { replyTarget } from "./replies.ts";
import { Sequencer } from "./sequencer.ts";
import { appendSystemLine, assertUserMessage, systemLineParam } from "./system-lines.ts";
import { appendMessage } from "./append.ts";
import { syncConversations } from "./sync.ts";
import { effectiveUnreadFrom, READ_STATE_EVENT, UnreadMarkers, type ReadStateEvent } from "./unread.ts";
import { viewsOf } from "./views.ts";

export interface MessagesState extends DbMethods, OutboxMethods {
	db: { messages: Collection<MessageDoc>; heads: Collection<HeadDoc>; cursors: Collection<CursorDoc>; reactions: Collection<ReactionDoc> };
	secret: string;
	sequencer: Sequencer;
	cursors: Cursors;
	heads: Heads;
	unread: UnreadMarkers;
	editWindowSeconds: number | undefined;
	/** MESSAGE_REACTION_LIMIT */
	reactionLimit: number;
	/** MENTION_ALL */
	mentionAll: MentionAllPolicy;
}

type MessagesThis = Service & MessagesState;

const MAX_CONTENT = 4000;

/** Send and edit share the rules of what a message may say. */
function checkedContent(raw: string | undefined, attachmentCount: number): string {
	const content = (raw ?? "").trim();
	if (content.length > MAX_CONTENT) throw invalidField("content", `The 'content' field must be at most ${MAX_CONTENT} characters.`, "stringMax");
	if (content.length === 0 && attachmentCount === 0) throw invalidField("content", "The 'content' field must not be empty.", "stringEmpty");
	return content;
}

/** addReaction and removeReaction: the same toggle, in one direction each (REST has a verb for each; the socket says `on`). */
function reactionAction(on: boolean): ActionSchema<MessagesThis> {
	return {
		auth: "required",
		rateLimit: { bucket: "react" },
		conversation: { entity: "messageOf", notFound: "Message" },
		params: params({ id: idParam, emoji: { type: "string", max: 200 } }),
		handler(this: MessagesThis, ctx: MemberContext<{ id: string; emoji: string }>): Promise<ReactionsEvent> {
			const emoji = checkedEmoji(ctx.params.emoji);
			assertUserMessage(entityOf<MessageDoc>(ctx), "reacted to");
			return toggleReaction(this, ctx, entityOf<MessageDoc>(ctx), { emoji, on, limit: this.reactionLimit });
		}
	};
}

/** markDelivered and markSeen: the same receipt, on a different cursor. */
function receiptAction(field: CursorField): ActionSchema<MessagesThis> {
	return {
		auth: "required",
		conversation: { param: "groupId" },
		params: params({ groupId: idParam, seq: { ...seqParam, optional: true }, messageId: { ...idParam, optional: true } }),
		async handler(this: MessagesThis, ctx: MemberContext<ReceiptRequest>): Promise<ReceiptMove> {
			const me = ctx.meta.user;
			const { groupId } = ctx.params;
			const seq = await resolveSeq(this.db.messages, () => this.heads.lastSeq(groupId), groupId, ctx.params.seq, ctx.params.messageId);
			const moved = await this.cursors.advance(groupId, me.id, field, seq, true);
			if (moved) ctx.broadcast(RECEIPT_EVENTS[field], { groupId, userId: me.id, seq });
			if (field === "readSeq" && (await this.unread.clearIfRead(groupId, me.id, seq))) {
				ctx.broadcast(READ_STATE_EVENT, { groupId, userId: me.id, readSeq: seq, unreadFrom: null } satisfies ReadStateEvent);
			}
			return { groupId, seq, moved };
		}
	};
}

const MessagesService: ServiceSchema<{}, {}, MessagesState> = {
	name: "messages",
	mixins: [
		DbCollections({
			messages: {
				indexes: [
					{ fields: { groupSeq: 1 }, unique: true },
					OUTBOX_INDEX,
					{ fields: { clientKey: 1 }, unique: true, sparse: true },
					{ fields: { groupVersion: 1 }, unique: true, sparse: true },
					{ fields: { "replyTo.id": 1 }, sparse: true },
					MENTION_INDEX,
					TEXT_INDEX
				]
			},
			heads: {},
			cursors: { indexes: [{ fields: { groupId: 1 } }, { fields: { userId: 1 } }, OUTBOX_INDEX] },
			reactions: { indexes: [{ fields: { messageId: 1, userId: 1 } }] }
		}),
		Outbox(["messages", "cursors"]),
		MessagesOpsActions,
		MessagesPreviewActions
	],

	actions: {
		/** Stores a message with the next seq of its conversation (see Sequencer); all sends of a conversation go to one node. */
		send: {
			auth: "required",
			admission: { pool: "send" },
			rateLimit: { bucket: "send" },
			conversation: { param: "groupId" },
			strategy: "Shard",
			strategyOptions: { shardKey: "groupId" },
			params: params({
				groupId: idParam,
				content: { ...contentParam(20_000), optional: true, default: "" },
				clientMessageId: clientMessageIdParam,
				attachments: { type: "array", max: 10, optional: true, items: { type: "object", strict: "remove", props: { assetId: idParam } } },
				replyTo: { ...idParam, optional: true }
			}),
			async handler(ctx: MemberContext<SendMessageRequest>): Promise<Message> {
				const me = ctx.meta.user;
				const { groupId, clientMessageId } = ctx.params;
				// A conversation whose queue is full refuses before the idempotency lookup and the attachments.
				this.sequencer.admit(groupId);
				const refs = ctx.params.attachments ?? [];
				const content = checkedContent(ctx.params.content, refs.length);
				const earlier = clientMessageId ? await this.sequencer.firstCopy(clientKeyOf(me.id, clientMessageId)) : null;
				if (earlier) {
					if (earlier.groupId !== groupId) throw conflict("This clientMessageId was already used for another conversation", "CLIENT_MESSAGE_ID_REUSED");
					return (await viewsOf(this, [earlier], groupId, me.id))[0];
				}
				const draft: MessageDraft = {
					groupId,
					senderId: me.id,
					content,
					clientMessageId,
					attachments: await resolveAttachments(ctx, me.id, refs),
					createdAt: new Date(),
					replyTo: ctx.params.replyTo ? await replyTarget(this.db.messages, groupId, ctx.params.replyTo) : undefined,
					// Without an `@` not even a call: the send path stays as it was.
					mentions: content.includes("@") ? ((await mentionsOf(ctx, groupId, content, this.mentionAll)) ?? undefined) : undefined
				};
				const { doc, duplicate, message } = await appendMessage(this, ctx, draft, () => {
					if (this.broker.isMetricsEnabled()) this.broker.metrics.increment(CHAT_METRICS.MESSAGES_SENT);
				});
				if (duplicate) return (await viewsOf(this, [doc], groupId, me.id))[0];
				this.heads.deferAfterSend(doc);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/messages/${groupId}?after=${doc.seq - 1}&limit=1`;
				return message!;
			}
		},

		/** Ascending pages by seq, backward from `before` (or the end), forward from `after`, or centred on `around`. */
		history: {
			auth: "required",
			readOnly: true,
			conversation: { param: "groupId" },
			params: params({
				groupId: idParam,
				before: { ...seqParam, optional: true },
				after: { ...seqParam, optional: true },
				around: { ...seqParam, min: 1, optional: true },
				limit: limitParam(100, 50)
			}),
			async handler(ctx: MemberContext<HistoryPage & { groupId: string }>): Promise<{ items: Message[] }> {
				const { groupId } = ctx.params;
				const given = PAGE_POSITIONS.filter(p => ctx.params[p] != null);
				if (given.length > 1) throw invalidField(given[0], "Give only one of 'before', 'after' and 'around'.");
				const docs = await pageOf(this.db.messages, groupId, historyRange(await this.heads.lastSeq(groupId), ctx.params));
				return { items: await viewsOf(this, docs, groupId, ctx.meta.user.id) };
			}
		},

		/** The author, or an owner/admin of the conversation, turns a message into a tombstone that keeps its seq. */
		delete: {
			auth: "required",
			conversation: { entity: "messageOf", notFound: "Message" },
			params: params({ id: idParam }),
			async handler(ctx: MemberContext<{ id: string }>): Promise<Message> {
				const me = ctx.meta.user;
				const found = entityOf<MessageDoc>(ctx);
				assertUserMessage(found, "deleted");
				if (found.senderId !== me.id && membershipOf(ctx).role === "member") throw forbidden("Only the author or a group admin can delete this message");
				const deletedAt = new Date();
				const doc = await changeMessage(this, ctx, found, (current, version) => {
					if (current.deletedAt) return null;
					const $set = {
						deletedAt,
						deletedBy: me.id,
						content: "",
						attachments: [],
						edits: [],
						version,
						groupVersion: groupVersionKey(current.groupId, version)
					};
					return { next: { ...current, ...$set }, write: outbox => ({ $set, ...outbox }), event: "message.deleted" };
				});
				if (found.attachments?.length && doc.deletedAt && !found.deletedAt) await ctx.call("assets.hide", { ids: found.attachments.map(a => a.id) });
				if (doc.deletedAt) await dropReactions(this, doc._id);
				return (await viewsOf(this, [doc], doc.groupId, me.id))[0];
			}
		},

		/** The author replaces the text; the message keeps its seq and gets a new version, its earlier text joins its history. */
		edit: {
			auth: "required",
			rateLimit: { bucket: "send" },
			conversation: { entity: "messageOf", notFound: "Message" },
			params: params({ id: idParam, content: contentParam(20_000) }),
			async handler(ctx: MemberContext<{ id: string; content: string }>): Promise<Message> {
				const me = ctx.meta.user;
				const found = entityOf<MessageDoc>(ctx);
				const now = new Date();
				assertEditable(found, me.id, { windowSeconds: this.editWindowSeconds }, now);
				const content = checkedContent(ctx.params.content, found.attachments?.length ?? 0);
				// Resolved before the lock (they take calls); the new text's mentions replace the old text's.
				const mentions = editedMentions(found.groupId, await mentionsOf(ctx, found.groupId, content, this.mentionAll));
				const doc = await changeMessage(this, ctx, found, (current, version) => {
					// Checked again on the message as it is now: a delete may have come first.
					assertEditable(current, me.id, { windowSeconds: this.editWindowSeconds }, now);
					if (current.content === content) return null;
					const update = editUpdate(current, content, version, now, mentions);
					return {
						next: edited(current, content, version, now, mentions),
						write: outbox => ({ ...update, ...outbox, $push: { ...update.$push, ...(outbox.$push as object) } }),
						event: "message.updated"
					};
				});
				return (await viewsOf(this, [doc], doc.groupId, me.id))[0];
			}
		},

		/** A message's earlier texts, oldest first (none once it is deleted). */
		editHistory: {
			auth: "required",
			readOnly: true,
			conversation: { entity: "messageOf", notFound: "Message" },
			params: params({ id: idParam }),
			handler(ctx: MemberContext<{ id: string }>): EditHistory {
				return historyOf(entityOf<MessageDoc>(ctx));
			}
		},

		addReaction: reactionAction(true),
		removeReaction: reactionAction(false),

		markDelivered: receiptAction("deliveredSeq"),
		markSeen: receiptAction("readSeq"),

		/** "Mark as unread" from `seq` on: the caller's own marker (unread.ts); the read cursor others see does not move back. */
		markUnread: {
			auth: "required",
			conversation: { param: "groupId" },
			params: params({ groupId: idParam, seq: { ...seqParam, min: 1 } }),
			async handler(ctx: MemberContext<MarkUnreadRequest>): Promise<ReadState> {
				const me = ctx.meta.user;
				const { groupId, seq } = ctx.params;
				await this.unread.markFrom(groupId, me.id, seq, await this.heads.lastSeq(groupId));
				const [head] = await this.heads.forViewer([groupId], me.id, this.secret);
				const state: ReadState = { groupId, readSeq: head.readSeq, unreadFrom: effectiveUnreadFrom(head.unreadFrom, head.readSeq) };
				ctx.broadcast(READ_STATE_EVENT, { ...state, userId: me.id } satisfies ReadStateEvent);
				return state;
			}
		},

		/**
		 * `GET /api/messages/:id/receipts`. Ids are unique across collections, so `id` names either a message
		 * (who has seen it, who has it delivered, who neither: MessageReceipts) or a conversation (every member's cursors).
		 */
		receipts: {
			auth: "required",
			readOnly: true,
			conversation: { entity: "receiptsSubjectOf", notFound: "Message or conversation" },
			params: params({ id: idParam }),
			async handler(ctx: MemberContext<{ id: string }>): Promise<MessageReceipts | { items: Receipt[] }> {
				const subject = entityOf<MessageDoc | { groupId: string }>(ctx);
				const receipts = await this.cursors.receiptsOf(subject.groupId);
				return "seq" in subject ? receiptListsOf(subject, receipts) : { items: receipts };
			}
		},

		/**
		 * Catch-up after being offline: for each conversation, what came after the client's cursor
		 * (up to a page; `hasMore` asks for another round) and everybody's receipts.
		 */
		sync: {
			auth: "required",
			readOnly: true,
			params: params({
				cursors: { type: "record", key: idParam, value: { type: "number", integer: true, min: 0 } },
				since: { type: "string", max: 32_000, optional: true }
			}),
			handler(ctx: UserContext<SyncRequest>): Promise<SyncResult> {
				return syncConversations(this, ctx);
			}
		},

		/** The store in pages of searchable messages, for the search service's index (search-door.ts). */
		searchSource: {
			visibility: "public",
			readOnly: true,
			params: params({ after: { ...idParam, optional: true }, limit: limitParam(5000, 1000) }),
			handler(ctx: Context<{ after?: string; limit: number }>): Promise<SourcePage> {
				return sourcePage(this, ctx.params.after, ctx.params.limit);
			}
		},

		/** A page of search results as clients see them: ranked ids from the index, or MongoDB's text search here. */
		searchHits: {
			visibility: "public",
			readOnly: true,
			params: params({
				groupIds: idList(10_000),
				senderId: { ...idParam, optional: true },
				ids: { ...idList(100), optional: true },
				terms: { type: "array", items: "string", max: 10, optional: true },
				offset: { type: "number", integer: true, min: 0, optional: true },
				limit: limitParam(100, 20)
			}),
			handler(ctx: Context<HitsRequest>): Promise<HitsPage> {
				return hitsPage(this, ctx.params);
			}
		},

		/** Per-viewer heads for the conversation list (the groups service's read door). */
		heads: {
			visibility: "public",
			readOnly: true,
			params: params({ groupIds: idList(5000), userId: idParam }),
			async handler(ctx: Context<{ groupIds: string[]; userId: string }>): Promise<ConversationHead[]> {
				const heads = await this.heads.forViewer(ctx.params.groupIds, ctx.params.userId, this.secret);
				return withMentionCounts(this.db.messages, heads, ctx.params.userId);
			}
		},

		/**
		 * A group change as a line of the conversation's timeline (groups → messages only; no route reaches it).
		 * Sharded like `send`: the node that gives the conversation's seqs gives this one too.
		 */
		appendSystemLine: {
			visibility: "public",
			strategy: "Shard",
			strategyOptions: { shardKey: "groupId" },
			params: params({ groupId: idParam, actorId: idParam, system: systemLineParam }),
			handler(ctx: Context<{ groupId: string; actorId: string; system: SystemLine }>): Promise<Message> {
				return appendSystemLine(this, ctx, ctx.params.groupId, ctx.params.actorId, ctx.params.system);
			}
		},

		/** Members joined (they start at the conversation's current end) or left (their cursors go). */
		membersChanged: {
			visibility: "public",
			params: params({ groupId: idParam, added: idList(5000), removed: idList(5000) }),
			async handler(ctx: Context<{ groupId: string; added: string[]; removed: string[] }>): Promise<void> {
				const { groupId, added, removed } = ctx.params;
				if (added.length) await this.cursors.startAt(groupId, added, await this.heads.lastSeq(groupId));
				await this.cursors.drop(groupId, removed);
			}
		}
	},

	methods: {
		/** The entity of `delete`, `edit` and `editHistory`, for ConversationAccess. */
		messageOf(ctx: Context<{ id: string }>): Promise<MessageDoc | null> {
			return this.db.messages.findById(ctx.params.id);
		},

		/** The entity of `receipts`: the message with this id, else the conversation it names. */
		async receiptsSubjectOf(ctx: Context<{ id: string }>): Promise<MessageDoc | { groupId: string }> {
			return (await this.db.messages.findById(ctx.params.id)) ?? { groupId: ctx.params.id };
		}
	},

	started() {
		this.secret = chatConfig(this.broker).jwt.secret;
		this.editWindowSeconds = chatConfig(this.broker).messages.editWindowSeconds;
		this.reactionLimit = chatConfig(this.broker).reactions.perMessage;
		this.mentionAll = chatConfig(this.broker).mentions.all;
		this.cursors = new Cursors(this.db.cursors, this.outboxEvent);
		this.unread = new UnreadMarkers(this.db.cursors);
		this.heads = new Heads({
			log: this.db.messages,
			heads: this.db.heads,
			cursors: this.cursors,
			onFlushError: reason => this.logger.warn("A deferred head or cursor write failed; the log stays authoritative", reason)
		});
		this.sequencer = new Sequencer(this.db.messages, groupId => this.heads.lastSeq(groupId), {
			storedLastVersion: async groupId => storedLastVersion(this.db.messages, groupId, (await this.heads.latestMessages([groupId])).get(groupId)),
			maxQueued: chatConfig(this.broker).overload.maxQueuedPerConversation
		});
	},

	async stopped() {
		await this.heads?.flush();
	}
};

export default MessagesService;
