import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type { Message, ReceiptMove, ReceiptRequest, SendMessageRequest, SyncResult } from "../../contract/messages.ts";
import { DbCollections, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { chatConfig } from "../../lib/config.ts";
import { conflict, forbidden, invalidField } from "../../lib/errors.ts";
import { CHAT_METRICS } from "../../lib/metrics.ts";
import { OUTBOX_INDEX, outboxFields, outboxUpdate } from "../../lib/outbox.ts";
import { clientMessageIdParam, contentParam, idList, idParam, limitParam, params, seqParam } from "../../lib/params.ts";
import { entityOf, membershipOf, type MemberContext, type UserContext } from "../../lib/session.ts";
import { resolveAttachments } from "./attachments.ts";
import { Cursors, RECEIPT_EVENTS, type CursorField } from "./cursors.ts";
import { clientKeyOf, storedMessage, toEventMessage, toMessage, type CursorDoc, type HeadDoc, type MessageDoc, type MessageDraft } from "./documents.ts";
import { Heads, type ConversationHead } from "./heads.ts";
import { MessagesOpsActions } from "./ops.ts";
import { catchUpRange, historyRange, pageOf } from "./pages.ts";
import { resolveSeq, withReceipts } from "./receipts.ts";
import { Sequencer } from "./sequencer.ts";

export interface MessagesState extends DbMethods, OutboxMethods {
	db: { messages: Collection<MessageDoc>; heads: Collection<HeadDoc>; cursors: Collection<CursorDoc> };
	secret: string;
	sequencer: Sequencer;
	cursors: Cursors;
	heads: Heads;
}

type MessagesThis = Service & MessagesState;

const MAX_CONTENT = 4000;
const SYNC_PAGE = 200;

/** Messages of one conversation as clients see them now. */
async function viewsOf(svc: MessagesState, docs: MessageDoc[], groupId: string): Promise<Message[]> {
	return docs.length ? withReceipts(docs, await svc.cursors.receiptsOf(groupId), svc.secret) : [];
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
			return { groupId, seq, moved };
		}
	};
}

const MessagesService: ServiceSchema<{}, {}, MessagesState> = {
	name: "messages",
	mixins: [
		DbCollections({
			messages: {
				indexes: [{ fields: { groupSeq: 1 }, unique: true }, OUTBOX_INDEX, { fields: { clientKey: 1 }, unique: true, sparse: true }]
			},
			heads: {},
			cursors: { indexes: [{ fields: { groupId: 1 } }, { fields: { userId: 1 } }, OUTBOX_INDEX] }
		}),
		Outbox(["messages", "cursors"]),
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
				content: { ...contentParam(20_000), optional: true, default: "" },
				clientMessageId: clientMessageIdParam,
				attachments: { type: "array", max: 10, optional: true, items: { type: "object", strict: "remove", props: { assetId: idParam } } }
			}),
			async handler(ctx: MemberContext<SendMessageRequest>): Promise<Message> {
				const me = ctx.meta.user;
				const { groupId, clientMessageId } = ctx.params;
				// A conversation whose queue is full refuses before the idempotency lookup and the attachments.
				this.sequencer.admit(groupId);
				const content = (ctx.params.content ?? "").trim();
				const refs = ctx.params.attachments ?? [];
				if (content.length > MAX_CONTENT) throw invalidField("content", `The 'content' field must be at most ${MAX_CONTENT} characters.`, "stringMax");
				if (content.length === 0 && refs.length === 0) throw invalidField("content", "The 'content' field must not be empty.", "stringEmpty");
				const earlier = clientMessageId ? await this.sequencer.firstCopy(clientKeyOf(me.id, clientMessageId)) : null;
				if (earlier) {
					if (earlier.groupId !== groupId) throw conflict("This clientMessageId was already used for another conversation", "CLIENT_MESSAGE_ID_REUSED");
					return (await viewsOf(this, [earlier], groupId))[0];
				}
				const draft: MessageDraft = {
					groupId,
					senderId: me.id,
					content,
					clientMessageId,
					attachments: await resolveAttachments(ctx, me.id, refs),
					createdAt: new Date()
				};
				let message!: Message;
				const { doc, duplicate } = await this.sequencer.store(
					groupId,
					seq => {
						const stored = storedMessage(draft, seq);
						// Built under the group's lock, so event ids follow seq order.
						return { ...stored, ...outboxFields(this.outboxEvent("message.created", groupId, { message: toEventMessage(stored) })) };
					},
					stored => {
						message = toMessage(stored, this.secret);
						ctx.broadcast("message.created", { groupId, message });
						if (this.broker.isMetricsEnabled()) this.broker.metrics.increment(CHAT_METRICS.MESSAGES_SENT);
					}
				);
				if (duplicate) return (await viewsOf(this, [doc], groupId))[0];
				this.heads.deferAfterSend(doc);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/messages/${groupId}?after=${doc.seq - 1}&limit=1`;
				return message;
			}
		},

		/** Ascending pages by seq, backward from `before` (or the end) or forward from `after`. */
		history: {
			auth: "required",
			readOnly: true,
			conversation: { param: "groupId" },
			params: params({ groupId: idParam, before: { ...seqParam, optional: true }, after: { ...seqParam, optional: true }, limit: limitParam(100, 50) }),
			async handler(ctx: MemberContext<{ groupId: string; before?: number; after?: number; limit: number }>): Promise<{ items: Message[] }> {
				const { groupId, before, after } = ctx.params;
				if (before != null && after != null) throw invalidField("before", "Give either 'before' or 'after', not both.");
				const docs = await pageOf(this.db.messages, groupId, historyRange(await this.heads.lastSeq(groupId), ctx.params));
				return { items: await viewsOf(this, docs, groupId) };
			}
		},

		/** The author, or an owner/admin of the conversation, turns a message into a tombstone that keeps its seq. */
		delete: {
			auth: "required",
			conversation: { entity: "messageOf", notFound: "Message" },
			params: params({ id: idParam }),
			async handler(ctx: MemberContext<{ id: string }>): Promise<Message> {
				const me = ctx.meta.user;
				const doc = entityOf<MessageDoc>(ctx);
				if (doc.senderId !== me.id && membershipOf(ctx).role === "member") throw forbidden("Only the author or a group admin can delete this message");
				if (doc.deletedAt) return (await viewsOf(this, [doc], doc.groupId))[0];
				const deletedAt = new Date();
				const tombstone = toEventMessage({ ...doc, deletedAt });
				const updated = (await this.db.messages.updateById(doc._id, {
					$set: { deletedAt, deletedBy: me.id, content: "", attachments: [] },
					...outboxUpdate(this.outboxEvent("message.deleted", doc.groupId, { message: tombstone, actorId: me.id }, deletedAt))
				}))!;
				if (doc.attachments?.length) await ctx.call("assets.hide", { ids: doc.attachments.map(a => a.id) });
				const [message] = await viewsOf(this, [updated], doc.groupId);
				ctx.broadcast("message.deleted", { groupId: doc.groupId, message, actorId: me.id });
				return message;
			}
		},

		markDelivered: receiptAction("deliveredSeq"),
		markSeen: receiptAction("readSeq"),

		receipts: {
			auth: "required",
			readOnly: true,
			conversation: { param: "groupId" },
			params: params({ groupId: idParam }),
			async handler(ctx: MemberContext<{ groupId: string }>) {
				return { items: await this.cursors.receiptsOf(ctx.params.groupId) };
			}
		},

		/**
		 * Catch-up after being offline: for each conversation, what came after the client's cursor
		 * (up to a page; `hasMore` asks for another round) and everybody's receipts.
		 */
		sync: {
			auth: "required",
			readOnly: true,
			params: params({ cursors: { type: "record", key: idParam, value: { type: "number", integer: true, min: 0 } } }),
			async handler(ctx: UserContext<{ cursors: Record<string, number> }>): Promise<SyncResult> {
				const groupIds = Object.keys(ctx.params.cursors);
				if (groupIds.length > 500) throw invalidField("cursors", "Sync at most 500 conversations at a time.");
				// Not one conversation but many: the caller's own list filters them.
				const mine = new Set(await ctx.call<string[], object>("groups.idsForUser", { userId: ctx.meta.user.id }));
				const items = await Promise.all(
					groupIds
						.filter(id => mine.has(id))
						.map(async groupId => {
							const lastSeq = await this.heads.lastSeq(groupId);
							const range = catchUpRange(lastSeq, ctx.params.cursors[groupId], SYNC_PAGE);
							const [docs, receipts] = await Promise.all([pageOf(this.db.messages, groupId, range), this.cursors.receiptsOf(groupId)]);
							return { groupId, messages: withReceipts(docs, receipts, this.secret), hasMore: range.to < lastSeq, lastSeq, receipts };
						})
				);
				return { items, unknownGroupIds: groupIds.filter(id => !mine.has(id)) };
			}
		},

		/** Per-viewer heads for the conversation list (the groups service's read door). */
		heads: {
			visibility: "public",
			readOnly: true,
			params: params({ groupIds: idList(5000), userId: idParam }),
			handler(ctx: Context<{ groupIds: string[]; userId: string }>): Promise<ConversationHead[]> {
				return this.heads.forViewer(ctx.params.groupIds, ctx.params.userId, this.secret);
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
		/** The entity of `delete`, for ConversationAccess. */
		messageOf(ctx: Context<{ id: string }>): Promise<MessageDoc | null> {
			return this.db.messages.findById(ctx.params.id);
		}
	},

	started() {
		this.secret = chatConfig(this.broker).jwt.secret;
		this.cursors = new Cursors(this.db.cursors, this.outboxEvent);
		this.heads = new Heads({
			log: this.db.messages,
			heads: this.db.heads,
			cursors: this.cursors,
			onFlushError: reason => this.logger.warn("A deferred head or cursor write failed; the log stays authoritative", reason)
		});
		this.sequencer = new Sequencer(this.db.messages, groupId => this.heads.lastSeq(groupId), {
			maxQueued: chatConfig(this.broker).overload.maxQueuedPerConversation
		});
	},

	async stopped() {
		await this.heads?.flush();
	}
};

export default MessagesService;
