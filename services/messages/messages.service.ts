import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type { EditHistory, Message, ReceiptMove, ReceiptRequest, SendMessageRequest, SyncRequest, SyncResult } from "../../contract/messages.ts";
import { DbCollections, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { chatConfig } from "../../lib/config.ts";
import { conflict, forbidden, invalidField } from "../../lib/errors.ts";
import { CHAT_METRICS } from "../../lib/metrics.ts";
import { OUTBOX_INDEX, outboxFields } from "../../lib/outbox.ts";
import { clientMessageIdParam, contentParam, idList, idParam, limitParam, params, seqParam } from "../../lib/params.ts";
import { entityOf, membershipOf, type MemberContext, type UserContext } from "../../lib/session.ts";
import { resolveAttachments } from "./attachments.ts";
import { storedLastVersion } from "./changes.ts";
import { Cursors, RECEIPT_EVENTS, type CursorField } from "./cursors.ts";
import {
	clientKeyOf,
	groupVersionKey,
	storedMessage,
	toEventMessage,
	toMessage,
	type CursorDoc,
	type HeadDoc,
	type MessageDoc,
	type MessageDraft
} from "./documents.ts";
import { assertEditable, edited, editUpdate, historyOf } from "./edits.ts";
import { Heads, type ConversationHead } from "./heads.ts";
import { MessagesOpsActions } from "./ops.ts";
import { changeMessage } from "./message-change.ts";
import { historyRange, pageOf } from "./pages.ts";
import { resolveSeq } from "./receipts.ts";
import { replyTarget } from "./replies.ts";
import { Sequencer } from "./sequencer.ts";
import { syncConversations } from "./sync.ts";
import { viewsOf } from "./views.ts";

export interface MessagesState extends DbMethods, OutboxMethods {
	db: { messages: Collection<MessageDoc>; heads: Collection<HeadDoc>; cursors: Collection<CursorDoc> };
	secret: string;
	sequencer: Sequencer;
	cursors: Cursors;
	heads: Heads;
	editWindowSeconds: number | undefined;
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
				indexes: [
					{ fields: { groupSeq: 1 }, unique: true },
					OUTBOX_INDEX,
					{ fields: { clientKey: 1 }, unique: true, sparse: true },
					{ fields: { groupVersion: 1 }, unique: true, sparse: true },
					{ fields: { "replyTo.id": 1 }, sparse: true }
				]
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
					return (await viewsOf(this, [earlier], groupId))[0];
				}
				const draft: MessageDraft = {
					groupId,
					senderId: me.id,
					content,
					clientMessageId,
					attachments: await resolveAttachments(ctx, me.id, refs),
					createdAt: new Date(),
					replyTo: ctx.params.replyTo ? await replyTarget(this.db.messages, groupId, ctx.params.replyTo) : undefined
				};
				let message!: Message;
				const { doc, duplicate } = await this.sequencer.store(
					groupId,
					(seq, version) => {
						const stored = storedMessage(draft, seq, version);
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
				const found = entityOf<MessageDoc>(ctx);
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
				return (await viewsOf(this, [doc], doc.groupId))[0];
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
				const doc = await changeMessage(this, ctx, found, (current, version) => {
					// Checked again on the message as it is now: a delete may have come first.
					assertEditable(current, me.id, { windowSeconds: this.editWindowSeconds }, now);
					if (current.content === content) return null;
					const update = editUpdate(current, content, version, now);
					return {
						next: edited(current, content, version, now),
						write: outbox => ({ ...update, ...outbox, $push: { ...update.$push, ...(outbox.$push as object) } }),
						event: "message.updated"
					};
				});
				return (await viewsOf(this, [doc], doc.groupId))[0];
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
			params: params({
				cursors: { type: "record", key: idParam, value: { type: "number", integer: true, min: 0 } },
				since: { type: "string", max: 32_000, optional: true }
			}),
			handler(ctx: UserContext<SyncRequest>): Promise<SyncResult> {
				return syncConversations(this, ctx);
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
		/** The entity of `delete`, `edit` and `editHistory`, for ConversationAccess. */
		messageOf(ctx: Context<{ id: string }>): Promise<MessageDoc | null> {
			return this.db.messages.findById(ctx.params.id);
		}
	},

	started() {
		this.secret = chatConfig(this.broker).jwt.secret;
		this.editWindowSeconds = chatConfig(this.broker).messages.editWindowSeconds;
		this.cursors = new Cursors(this.db.cursors, this.outboxEvent);
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
