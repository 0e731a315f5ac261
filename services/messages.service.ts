import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../mixins/db.mixin.ts";
import { MessagesOpsActions } from "../mixins/ops.mixin.ts";
import { Outbox, type OutboxMethods } from "../mixins/outbox.mixin.ts";
import { chatConfig } from "../lib/config.ts";
import { CHAT_METRICS } from "../lib/metrics.ts";
import { conflict, forbidden, invalidField, notFound } from "../lib/errors.ts";
import type { ConversationHead, MemberRole } from "../lib/groups.ts";
import { newId } from "../lib/ids.ts";
import {
	cursorId,
	groupSeqKey,
	ReceiptIndex,
	toEventMessage,
	toMessage,
	type CursorDoc,
	type Message,
	type MessageDoc,
	type Receipt,
	type StoredAttachment
} from "../lib/messages.ts";
import { OUTBOX_INDEX, outboxFields, outboxUpdate } from "../lib/outbox.ts";
import { clientMessageIdParam, idList, idParam, limitParam, params, seqParam } from "../lib/params.ts";
import { requireUser, type SessionMeta } from "../lib/session.ts";

type Ctx<P = {}> = Context<P, SessionMeta & { $statusCode?: number; $location?: string }>;

interface HeadDoc {
	_id: string; // the group's id
	lastSeq: number;
	lastMessageId: string | null;
	lastActivityAt: Date | null;
}

interface SendParams {
	groupId: string;
	content?: string;
	clientMessageId?: string;
	attachments?: { assetId: string }[];
}

interface MessagesThis extends DbMethods, OutboxMethods {
	db: { messages: Collection<MessageDoc>; heads: Collection<HeadDoc>; cursors: Collection<CursorDoc> };
	/** Last seq per group, as this node's sequencer knows it (a bounded cache; the store decides). */
	lastSeqs: Map<string, number>;
	/** Tail of the per-group chain that serializes seq assignment on this node. */
	groupLocks: Map<string, Promise<unknown>>;
	secret: string;
	withGroupLock<T>(groupId: string, work: () => Promise<T>): Promise<T>;
	lastSeqOf(groupId: string): Promise<number>;
	storedLastSeq(groupId: string): Promise<number>;
	pendingHeads: Map<string, { seq: number; messageId: string; at: Date }>;
	pendingReads: Map<string, { groupId: string; userId: string; seq: number }>;
	flushTimer: NodeJS.Timeout | null;
	latestMessages(groupIds: string[]): Promise<Map<string, MessageDoc>>;
	deferAfterSend(doc: MessageDoc): void;
	flushDeferred(): Promise<void>;
	storeInSequence(groupId: string, build: (seq: number) => MessageDoc, onStored: (doc: MessageDoc) => void): Promise<{ doc: MessageDoc; duplicate: boolean }>;
	requireMember(ctx: Ctx, groupId: string, userId: string): Promise<MemberRole>;
	receiptIndex(groupId: string): Promise<ReceiptIndex>;
	receiptsOf(groupId: string): Promise<Receipt[]>;
	toMessages(docs: MessageDoc[], groupId: string): Promise<Message[]>;
	pageByRange(groupId: string, from: number, to: number): Promise<MessageDoc[]>;
	advanceCursor(ctx: Ctx, groupId: string, userId: string, field: "deliveredSeq" | "readSeq", seq: number, streamed?: boolean): Promise<boolean>;
	resolveSeq(ctx: Ctx, groupId: string, seq?: number, messageId?: string): Promise<number>;
	resolveAttachments(ctx: Ctx, userId: string, refs: { assetId: string }[]): Promise<StoredAttachment[]>;
}

const SEQUENCER_CACHE_SIZE = 10_000;
const MAX_CONTENT = 4000;
const SYNC_PAGE = 200;
const DEFERRED_WRITE_MS = 200;

const MessagesService: ServiceSchema<{}, {}, MessagesThis> = {
	name: "messages",
	mixins: [
		DbCollections({
			messages: {
				indexes: [
					{ fields: { groupSeq: 1 }, unique: true },
					OUTBOX_INDEX,
					{ fields: { clientKey: 1 }, unique: true, sparse: true }
				]
			},
			heads: {},
			cursors: { indexes: [{ fields: { groupId: 1 } }, { fields: { userId: 1 } }, OUTBOX_INDEX] }
		}),
		Outbox(["messages", "cursors"]),
		MessagesOpsActions
	],

	actions: {
		/**
		 * Stores a message with the next seq of its conversation. All sends of one conversation go to the
		 * same node (sharded by groupId), where they queue behind one another; the unique groupSeq index is
		 * the last word if two nodes ever race (during a rebalance), and the loser retries with a fresh seq.
		 */
		send: {
			strategy: "Shard",
			strategyOptions: { shardKey: "groupId" },
			params: params({
				groupId: idParam,
				content: { type: "string", max: 20_000, optional: true, default: "" },
				clientMessageId: clientMessageIdParam,
				attachments: { type: "array", max: 10, optional: true, items: { type: "object", strict: "remove", props: { assetId: idParam } } }
			}),
			async handler(ctx: Ctx<SendParams>): Promise<Message> {
				const me = requireUser(ctx);
				const { groupId, clientMessageId } = ctx.params;
				const content = (ctx.params.content ?? "").trim();
				const refs = ctx.params.attachments ?? [];
				if (content.length > MAX_CONTENT) throw invalidField("content", `The 'content' field must be at most ${MAX_CONTENT} characters.`, "stringMax");
				if (content.length === 0 && refs.length === 0) throw invalidField("content", "The 'content' field must not be empty.", "stringEmpty");
				await this.requireMember(ctx, groupId, me.id);
				const clientKey = clientMessageId ? `${me.id}:${clientMessageId}` : undefined;
				if (clientKey) {
					const existing = await this.db.messages.findOne({ clientKey });
					if (existing) {
						if (existing.groupId !== groupId) throw conflict("This clientMessageId was already used for another conversation", "CLIENT_MESSAGE_ID_REUSED");
						return (await this.toMessages([existing], groupId))[0];
					}
				}
				const attachments = await this.resolveAttachments(ctx, me.id, refs);
				const createdAt = new Date();
				let message!: Message;
				const { doc, duplicate } = await this.storeInSequence(groupId, seq => {
					const stored: MessageDoc = {
						_id: newId(),
						groupId,
						seq,
						groupSeq: groupSeqKey(groupId, seq),
						senderId: me.id,
						content,
						clientMessageId: clientMessageId ?? null,
						...(clientKey ? { clientKey } : {}),
						attachments,
						createdAt,
						deletedAt: null
					};
					// Built under the group's lock, so event ids follow seq order.
					return { ...stored, ...outboxFields(this.outboxEvent("message.created", groupId, { message: toEventMessage(stored) })) };
				}, stored => {
					message = toMessage(stored, this.secret);
					ctx.broadcast("message.created", { groupId, message });
					if (this.broker.isMetricsEnabled()) this.broker.metrics.increment(CHAT_METRICS.MESSAGES_SENT);
				});
				if (duplicate) return (await this.toMessages([doc], groupId))[0];

				// The conversation's head moves and the sender has read what they wrote: both written behind.
				this.deferAfterSend(doc);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/messages/${groupId}?after=${doc.seq - 1}&limit=1`;
				return message;
			}
		},

		/** Ascending pages by seq. Seqs have no gaps, so a page is one index range: O(log n + limit). */
		history: {
			params: params({ groupId: idParam, before: { ...seqParam, optional: true }, after: { ...seqParam, optional: true }, limit: limitParam(100, 50) }),
			async handler(ctx: Ctx<{ groupId: string; before?: number; after?: number; limit: number }>): Promise<{ items: Message[] }> {
				const me = requireUser(ctx);
				const { groupId, before, after, limit } = ctx.params;
				if (before != null && after != null) throw invalidField("before", "Give either 'before' or 'after', not both.");
				await this.requireMember(ctx, groupId, me.id);
				const lastSeq = await this.storedLastSeq(groupId);
				let from: number;
				let to: number;
				if (after != null) {
					from = after + 1;
					to = Math.min(after + limit, lastSeq);
				} else {
					to = Math.min(before != null ? before - 1 : lastSeq, lastSeq);
					from = Math.max(1, to - limit + 1);
				}
				const docs = to >= from ? await this.pageByRange(groupId, from, to) : [];
				return { items: await this.toMessages(docs, groupId) };
			}
		},

		/** The author, or an owner/admin of the conversation, turns a message into a tombstone that keeps its seq. */
		delete: {
			params: params({ id: idParam }),
			async handler(ctx: Ctx<{ id: string }>): Promise<Message> {
				const me = requireUser(ctx);
				const doc = await this.db.messages.findById(ctx.params.id);
				if (!doc) throw notFound("Message");
				const role = await ctx.call<{ role: MemberRole } | null, object>("groups.membership", { groupId: doc.groupId, userId: me.id });
				if (!role) throw notFound("Message");
				if (doc.senderId !== me.id && role.role === "member") throw forbidden("Only the author or a group admin can delete this message");
				if (doc.deletedAt) return (await this.toMessages([doc], doc.groupId))[0];
				const deletedAt = new Date();
				const tombstone = toEventMessage({ ...doc, deletedAt });
				const updated = (await this.db.messages.updateById(doc._id, {
					$set: { deletedAt, deletedBy: me.id, content: "", attachments: [] },
					...outboxUpdate(this.outboxEvent("message.deleted", doc.groupId, { message: tombstone, actorId: me.id }, deletedAt))
				}))!;
				if (doc.attachments?.length) await ctx.call("assets.hide", { ids: doc.attachments.map(a => a.id) });
				const [message] = await this.toMessages([updated], doc.groupId);
				ctx.broadcast("message.deleted", { groupId: doc.groupId, message, actorId: me.id });
				return message;
			}
		},

		markDelivered: {
			params: params({ groupId: idParam, seq: { ...seqParam, optional: true }, messageId: { ...idParam, optional: true } }),
			async handler(ctx: Ctx<{ groupId: string; seq?: number; messageId?: string }>) {
				const me = requireUser(ctx);
				await this.requireMember(ctx, ctx.params.groupId, me.id);
				const seq = await this.resolveSeq(ctx, ctx.params.groupId, ctx.params.seq, ctx.params.messageId);
				const moved = await this.advanceCursor(ctx, ctx.params.groupId, me.id, "deliveredSeq", seq, true);
				if (moved) ctx.broadcast("message.delivered", { groupId: ctx.params.groupId, userId: me.id, seq });
				return { groupId: ctx.params.groupId, seq, moved };
			}
		},

		markSeen: {
			params: params({ groupId: idParam, seq: { ...seqParam, optional: true }, messageId: { ...idParam, optional: true } }),
			async handler(ctx: Ctx<{ groupId: string; seq?: number; messageId?: string }>) {
				const me = requireUser(ctx);
				await this.requireMember(ctx, ctx.params.groupId, me.id);
				const seq = await this.resolveSeq(ctx, ctx.params.groupId, ctx.params.seq, ctx.params.messageId);
				const moved = await this.advanceCursor(ctx, ctx.params.groupId, me.id, "readSeq", seq, true);
				if (moved) ctx.broadcast("message.seen", { groupId: ctx.params.groupId, userId: me.id, seq });
				return { groupId: ctx.params.groupId, seq, moved };
			}
		},

		receipts: {
			params: params({ groupId: idParam }),
			async handler(ctx: Ctx<{ groupId: string }>): Promise<{ items: Receipt[] }> {
				const me = requireUser(ctx);
				await this.requireMember(ctx, ctx.params.groupId, me.id);
				return { items: await this.receiptsOf(ctx.params.groupId) };
			}
		},

		/**
		 * Catch-up after being offline: for each conversation, what came after the client's cursor
		 * (up to a page; `hasMore` asks for another round) and everybody's receipts.
		 */
		sync: {
			params: params({ cursors: { type: "record", key: idParam, value: { type: "number", integer: true, min: 0 } } }),
			async handler(ctx: Ctx<{ cursors: Record<string, number> }>) {
				const me = requireUser(ctx);
				const groupIds = Object.keys(ctx.params.cursors);
				if (groupIds.length > 500) throw invalidField("cursors", "Sync at most 500 conversations at a time.");
				const mine = new Set(await ctx.call<string[], object>("groups.idsForUser", { userId: me.id }));
				const items = await Promise.all(
					groupIds.filter(id => mine.has(id)).map(async groupId => {
						const cursor = ctx.params.cursors[groupId];
						const lastSeq = await this.storedLastSeq(groupId);
						const to = Math.min(lastSeq, cursor + SYNC_PAGE);
						const docs = to > cursor ? await this.pageByRange(groupId, cursor + 1, to) : [];
						return {
							groupId,
							messages: await this.toMessages(docs, groupId),
							hasMore: to < lastSeq,
							lastSeq,
							receipts: await this.receiptsOf(groupId)
						};
					})
				);
				return { items, unknownGroupIds: groupIds.filter(id => !mine.has(id)) };
			}
		},

		/** Per-viewer heads for the conversation list: last seq and message, the viewer's cursors. */
		heads: {
			visibility: "public",
			params: params({ groupIds: idList(5000), userId: idParam }),
			async handler(ctx: Context<{ groupIds: string[]; userId: string }>): Promise<ConversationHead[]> {
				const { groupIds, userId } = ctx.params;
				const [latest, cursors] = await Promise.all([
					this.latestMessages(groupIds),
					this.db.cursors.findByIds(groupIds.map(g => cursorId(g, userId)))
				]);
				const cursorByGroup = new Map(cursors.map(c => [c.groupId, c]));
				return groupIds.map(groupId => {
					const last = latest.get(groupId) ?? null;
					const cursor = cursorByGroup.get(groupId);
					// Own messages are read: the sender's cursor write may still be pending (or lost in a crash).
					const ownLast = last?.senderId === userId ? last.seq : 0;
					const pendingRead = this.pendingReads.get(cursorId(groupId, userId))?.seq ?? 0;
					const readSeq = Math.max(cursor?.readSeq ?? 0, pendingRead, ownLast);
					return {
						groupId,
						lastSeq: last?.seq ?? 0,
						readSeq,
						deliveredSeq: Math.max(cursor?.deliveredSeq ?? 0, readSeq),
						lastMessage: last ? toMessage(last, this.secret) : null,
						lastActivityAt: last ? new Date(last.createdAt).toISOString() : null
					};
				});
			}
		},

		/** New members start at the conversation's current end. */
		initCursors: {
			visibility: "public",
			params: params({ groupId: idParam, userIds: idList(1000) }),
			async handler(ctx: Context<{ groupId: string; userIds: string[] }>) {
				const lastSeq = await this.storedLastSeq(ctx.params.groupId);
				for (const userId of ctx.params.userIds) {
					const _id = cursorId(ctx.params.groupId, userId);
					await this.db.cursors.removeById(_id);
					await this.db.cursors.insertIfAbsent({ _id, groupId: ctx.params.groupId, userId, deliveredSeq: lastSeq, readSeq: lastSeq });
				}
			}
		},

		dropCursors: {
			visibility: "public",
			params: params({ groupId: idParam, userId: idParam }),
			async handler(ctx: Context<{ groupId: string; userId: string }>) {
				await this.db.cursors.removeById(cursorId(ctx.params.groupId, ctx.params.userId));
			}
		}
	},

	methods: {
		withGroupLock<T>(groupId: string, work: () => Promise<T>): Promise<T> {
			const previous = this.groupLocks.get(groupId) ?? Promise.resolve();
			const run = previous.then(work, work);
			const tail = run.catch(() => undefined);
			this.groupLocks.set(groupId, tail);
			void tail.then(() => {
				if (this.groupLocks.get(groupId) === tail) this.groupLocks.delete(groupId);
			});
			return run;
		},

		/** The sequencer's view: cached on the node that sends for this conversation. */
		async lastSeqOf(groupId: string): Promise<number> {
			const known = this.lastSeqs.get(groupId);
			if (known != null) return known;
			const seq = await this.storedLastSeq(groupId);
			if (this.lastSeqs.size >= SEQUENCER_CACHE_SIZE) this.lastSeqs.delete(this.lastSeqs.keys().next().value!);
			this.lastSeqs.set(groupId, seq);
			return seq;
		},

		/** What readers on any node see: the seq of the conversation's last stored message. */
		async storedLastSeq(groupId: string): Promise<number> {
			return (await this.latestMessages([groupId])).get(groupId)?.seq ?? 0;
		},

		/** `onStored` runs under the lock, so whatever it announces goes out in seq order. */
		storeInSequence(groupId: string, build: (seq: number) => MessageDoc, onStored: (doc: MessageDoc) => void) {
			return this.withGroupLock(groupId, async () => {
				for (let attempt = 0; attempt < 8; attempt++) {
					const doc = build((await this.lastSeqOf(groupId)) + 1);
					try {
						await this.db.messages.insert(doc);
						this.lastSeqs.set(groupId, doc.seq);
						onStored(doc);
						return { doc, duplicate: false };
					} catch (err) {
						if (!(err instanceof DuplicateKeyError)) throw err;
						if (doc.clientKey) {
							const first = await this.db.messages.findOne({ clientKey: doc.clientKey });
							if (first) return { doc: first, duplicate: true };
						}
						// Another node stored this seq: forget what we knew and read the store again.
						this.lastSeqs.delete(groupId);
					}
				}
				throw new Errors.MoleculerRetryableError("Could not assign a sequence number, try again", 503, "SEQUENCE_CONFLICT");
			});
		},

		async requireMember(ctx: Ctx, groupId: string, userId: string): Promise<MemberRole> {
			const membership = await ctx.call<{ role: MemberRole } | null, object>("groups.membership", { groupId, userId });
			if (!membership) throw notFound("Conversation");
			return membership.role;
		},

		async receiptsOf(groupId: string): Promise<Receipt[]> {
			const cursors = await this.db.cursors.find({ groupId });
			return cursors.map(c => ({ userId: c.userId, deliveredSeq: Math.max(c.deliveredSeq, c.readSeq), readSeq: c.readSeq }));
		},

		async receiptIndex(groupId: string): Promise<ReceiptIndex> {
			return new ReceiptIndex(await this.receiptsOf(groupId));
		},

		async toMessages(docs: MessageDoc[], groupId: string): Promise<Message[]> {
			if (docs.length === 0) return [];
			const index = await this.receiptIndex(groupId);
			return docs.map(doc => toMessage(doc, this.secret, index.statusOf(doc.senderId, doc.seq)));
		},

		async pageByRange(groupId: string, from: number, to: number): Promise<MessageDoc[]> {
			return this.db.messages.find(
				{ groupSeq: { $gte: groupSeqKey(groupId, from), $lte: groupSeqKey(groupId, to) } },
				{ sort: ["groupSeq"] }
			);
		},

		/**
		 * The last message of each conversation. The stored head is a hint that may lag the log by what the
		 * last flush has not written yet (or by a crash); seqs have no gaps, so reading on from it is exact.
		 */
		async latestMessages(groupIds: string[]): Promise<Map<string, MessageDoc>> {
			const heads = await this.db.heads.findByIds(groupIds);
			const hint = new Map(heads.map(h => [h._id, h.lastSeq]));
			const keys = groupIds.flatMap(g => {
				const seq = hint.get(g) ?? 0;
				return seq > 0 ? [groupSeqKey(g, seq), groupSeqKey(g, seq + 1)] : [groupSeqKey(g, 1)];
			});
			const found = new Map((await this.db.messages.find({ groupSeq: { $in: keys } })).map(m => [m.groupSeq, m]));
			const latest = new Map<string, MessageDoc>();
			for (const groupId of groupIds) {
				const seq = hint.get(groupId) ?? 0;
				let doc = found.get(groupSeqKey(groupId, seq + 1)) ?? (seq > 0 ? found.get(groupSeqKey(groupId, seq)) : undefined);
				while (doc && doc.seq > seq) {
					const next = await this.db.messages.findOne({ groupSeq: groupSeqKey(groupId, doc.seq + 1) });
					if (!next) break;
					doc = next;
				}
				if (doc) latest.set(groupId, doc);
			}
			return latest;
		},

		/**
		 * A send leaves two writes that need not hold up its answer: the conversation's head (a hint, see
		 * latestMessages) and the sender's read cursor. They are coalesced per conversation and per sender
		 * and written a moment later, so a busy conversation costs one head write per flush, not per message.
		 */
		deferAfterSend(doc: MessageDoc) {
			const head = this.pendingHeads.get(doc.groupId);
			if (!head || head.seq < doc.seq) this.pendingHeads.set(doc.groupId, { seq: doc.seq, messageId: doc._id, at: new Date(doc.createdAt) });
			const key = cursorId(doc.groupId, doc.senderId);
			const read = this.pendingReads.get(key);
			if (!read || read.seq < doc.seq) this.pendingReads.set(key, { groupId: doc.groupId, userId: doc.senderId, seq: doc.seq });
			this.flushTimer ??= setTimeout(() => void this.flushDeferred(), DEFERRED_WRITE_MS);
		},

		async flushDeferred() {
			if (this.flushTimer) clearTimeout(this.flushTimer);
			this.flushTimer = null;
			const heads = this.pendingHeads;
			const reads = this.pendingReads;
			this.pendingHeads = new Map();
			this.pendingReads = new Map();
			const writeHead = async (groupId: string, head: { seq: number; messageId: string; at: Date }) => {
				// Monotonic: a late write never moves the head backwards.
				const update = { $set: { lastSeq: head.seq, lastMessageId: head.messageId, lastActivityAt: head.at } };
				if ((await this.db.heads.updateMany({ _id: groupId, lastSeq: { $lt: head.seq } }, update)) > 0) return;
				if (await this.db.heads.findById(groupId)) return;
				await this.db.heads.insertIfAbsent({ _id: groupId, lastSeq: 0, lastMessageId: null, lastActivityAt: null });
				await this.db.heads.updateMany({ _id: groupId, lastSeq: { $lt: head.seq } }, update);
			};
			const results = await Promise.allSettled([
				...[...heads].map(([groupId, head]) => writeHead(groupId, head)),
				...[...reads.values()].map(r => this.advanceCursor(null as unknown as Ctx, r.groupId, r.userId, "readSeq", r.seq))
			]);
			for (const r of results) if (r.status === "rejected") this.logger.warn("A deferred head or cursor write failed; the log stays authoritative", r.reason);
		},

		/** Cursors only move forward ($max). Returns whether this call moved it; a `streamed` move records its receipt event in the same write. */
		async advanceCursor(_ctx: Ctx, groupId: string, userId: string, field: "deliveredSeq" | "readSeq", seq: number, streamed = false): Promise<boolean> {
			const _id = cursorId(groupId, userId);
			const event = streamed ? this.outboxEvent(field === "readSeq" ? "message.seen" : "message.delivered", groupId, { userId, seq }) : null;
			const update = {
				...(field === "readSeq" ? { $max: { readSeq: seq, deliveredSeq: seq } } : { $max: { deliveredSeq: seq } }),
				...outboxUpdate(event)
			};
			const moved = await this.db.cursors.updateMany({ _id, [field]: { $lt: seq } }, update);
			if (moved > 0) return true;
			if (await this.db.cursors.findById(_id)) return false;
			await this.db.cursors.insertIfAbsent({ _id, groupId, userId, deliveredSeq: 0, readSeq: 0 });
			return (await this.db.cursors.updateMany({ _id, [field]: { $lt: seq } }, update)) > 0;
		},

		/** A receipt names a seq, or a message by id; either must exist in that conversation. */
		async resolveSeq(_ctx: Ctx, groupId: string, seq?: number, messageId?: string): Promise<number> {
			if (messageId) {
				const doc = await this.db.messages.findById(messageId);
				if (!doc || doc.groupId !== groupId) throw notFound("Message");
				return doc.seq;
			}
			if (seq == null) throw invalidField("seq", "The 'seq' field (or 'messageId') is required.", "required");
			const lastSeq = await this.storedLastSeq(groupId);
			if (seq > lastSeq) throw invalidField("seq", `The 'seq' field must not be beyond the last message (${lastSeq}).`, "numberMax");
			return seq;
		},

		async resolveAttachments(ctx: Ctx, userId: string, refs: { assetId: string }[]): Promise<StoredAttachment[]> {
			if (refs.length === 0) return [];
			const ids = [...new Set(refs.map(r => r.assetId))];
			const assets = await ctx.call<(StoredAttachment & { ownerId: string })[], object>("assets.describeMany", { ids });
			const byId = new Map(assets.map(a => [a.id, a]));
			return ids.map(id => {
				const asset = byId.get(id);
				// Only your own uploads can be attached; anything else is as unknown as a missing id.
				if (!asset || asset.ownerId !== userId) throw invalidField("attachments", `The 'attachments' field names an unknown asset (${id}).`);
				return { id, name: asset.name, size: asset.size, mimeType: asset.mimeType, width: asset.width, height: asset.height, hasThumbnail: asset.hasThumbnail };
			});
		}
	},

	created() {
		this.lastSeqs = new Map();
		this.groupLocks = new Map();
		this.pendingHeads = new Map();
		this.pendingReads = new Map();
		this.flushTimer = null;
	},

	started() {
		this.secret = chatConfig(this.broker).jwt.secret;
	},

	async stopped() {
		await this.flushDeferred();
	}
};

export default MessagesService;
