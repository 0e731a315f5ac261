import type { Context, ServiceSchema } from "moleculer";
import type { Message, SendMessageRequest, SyncRequest, SyncResult } from "../../contract/messages.ts";
import { DbCollections, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { chatConfig, type MentionAllPolicy } from "../../lib/config.ts";
import { conflict, invalidField } from "../../lib/errors.ts";
import { CHAT_METRICS } from "../../lib/metrics.ts";
import { OUTBOX_INDEX } from "../../lib/outbox.ts";
import { clientMessageIdParam, contentParam, idParam, limitParam, params, seqParam } from "../../lib/params.ts";
import type { MemberContext, UserContext } from "../../lib/session.ts";
import { appendMessage } from "./append.ts";
import { resolveAttachments } from "./attachments.ts";
import { storedLastVersion } from "./changes.ts";
import { checkedContent, MAX_CONTENT } from "./content.ts";
import { Cursors } from "./cursors.ts";
import { clientKeyOf, type CursorDoc, type HeadDoc, type MessageDoc, type MessageDraft } from "./documents.ts";
import { MessagesDoorActions } from "./door-actions.ts";
import { MessagesEditActions } from "./edit-actions.ts";
import { Heads } from "./heads.ts";
import { restoreSenderReads } from "./read-recovery.ts";
import { MESSAGE_INDEXES } from "./message-indexes.ts";
import { mentionsOf } from "./message-mentions.ts";
import { MessagesOpsActions } from "./ops.ts";
import { historyRange, PAGE_POSITIONS, pageOf, type HistoryPage } from "./pages.ts";
import { MessagesPreviewActions } from "./previews.ts";
import { MessagesReactionActions } from "./reaction-actions.ts";
import type { ReactionDoc } from "./reactions.ts";
import { MessagesReadActions } from "./read-actions.ts";
import { replyTarget } from "./replies.ts";
import { Sequencer } from "./sequencer.ts";
import { syncConversations } from "./sync.ts";
import { UnreadMarkers } from "./unread.ts";
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

/**
 * Each conversation's log of messages in seq order, and where each member has got to in it. Actions, by file:
 * - here: send, history, sync (catch-up after being offline);
 * - edit-actions.ts: delete, edit, editHistory;
 * - reaction-actions.ts: addReaction, removeReaction;
 * - read-actions.ts: markDelivered, markSeen, markUnread, receipts;
 * - previews.ts: claimPreview, attachPreview (link-previews service), removePreview;
 * - door-actions.ts, for other services only: searchSource, searchHits (search), heads, appendSystemLine, membersChanged (groups);
 * - ops.ts, for operators: conversationStats.
 */
const MessagesService: ServiceSchema<{}, {}, MessagesState> = {
	name: "messages",
	mixins: [
		DbCollections({
			messages: { indexes: MESSAGE_INDEXES },
			heads: {},
			// Read by _id (`groupId:userId`) and by conversation (receipts); every cursor move rewrites each index it is in.
			cursors: { indexes: [{ fields: { groupId: 1 } }, OUTBOX_INDEX] },
			reactions: { indexes: [{ fields: { messageId: 1, userId: 1 } }] }
		}),
		Outbox(["messages", "cursors"]),
		MessagesEditActions,
		MessagesReactionActions,
		MessagesReadActions,
		MessagesPreviewActions,
		MessagesDoorActions,
		MessagesOpsActions
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
				content: { ...contentParam(5 * MAX_CONTENT, MAX_CONTENT), optional: true, default: "" },
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
				// A plain retry is caught by the unique clientKey index as it is stored (the Sequencer hands back the first copy), so
				// a send costs no lookup; one with attachments or a reply looks first, since those may no longer resolve for a retry.
				const looksFirst = clientMessageId && (refs.length > 0 || ctx.params.replyTo);
				const earlier = looksFirst ? await this.sequencer.firstCopy(clientKeyOf(me.id, clientMessageId)) : null;
				if (earlier) return firstCopyView(this, earlier, groupId, me.id);
				const replyTo = ctx.params.replyTo ? await replyTarget(this.db.messages, groupId, ctx.params.replyTo) : undefined;
				// Without an `@` not even a call: the send path stays as it was.
				const mentions = content.includes("@") ? ((await mentionsOf(ctx, groupId, content, this.mentionAll)) ?? undefined) : undefined;
				const draft: MessageDraft = {
					groupId,
					senderId: me.id,
					content,
					clientMessageId,
					// Claimed last, once nothing else can refuse the send; a retry (same clientMessageId) claims them again.
					attachments: await resolveAttachments(ctx, me.id, refs, clientMessageId ? clientKeyOf(me.id, clientMessageId) : null),
					createdAt: new Date(),
					replyTo,
					mentions
				};
				const { doc, duplicate, message } = await appendMessage(this, ctx, draft, () => {
					if (this.broker.isMetricsEnabled()) this.broker.metrics.increment(CHAT_METRICS.MESSAGES_SENT);
				});
				if (duplicate) return firstCopyView(this, doc, groupId, me.id);
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
		}
	},

	methods: {
		/** The entity of the actions on one message (edit-actions.ts, reaction-actions.ts, removePreview), for ConversationAccess. */
		messageOf(ctx: Context<{ id: string }>): Promise<MessageDoc | null> {
			return this.db.messages.findById(ctx.params.id);
		}
	},

	async started() {
		this.secret = chatConfig(this.broker).jwt.secret;
		this.editWindowSeconds = chatConfig(this.broker).messages.editWindowSeconds;
		this.reactionLimit = chatConfig(this.broker).reactions.perMessage;
		this.mentionAll = chatConfig(this.broker).mentions.all;
		this.cursors = new Cursors(this.db.cursors, this.outboxEvent);
		const restored = await restoreSenderReads(this.db.messages, this.cursors);
		if (restored) this.logger.info(`Restored ${restored} sender read(s) the write-behind had not stored before the last stop`);
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

/** A retried send answers with the message its clientMessageId first stored, which must be of the same conversation. */
async function firstCopyView(svc: MessagesState, first: MessageDoc, groupId: string, viewerId: string): Promise<Message> {
	if (first.groupId !== groupId) throw conflict("This clientMessageId was already used for another conversation", "CLIENT_MESSAGE_ID_REUSED");
	return (await viewsOf(svc, [first], groupId, viewerId))[0];
}

export default MessagesService;
