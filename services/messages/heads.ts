import type { Message } from "../../contract/messages.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { Cursors } from "./cursors.ts";
import { cursorId, groupSeqKey, toMessage, type HeadDoc, type MessageDoc } from "./documents.ts";

/** Per-viewer state of a conversation (what `messages.heads` answers the groups service). */
export interface ConversationHead {
	groupId: string;
	lastSeq: number;
	readSeq: number;
	deliveredSeq: number;
	lastMessage: Message | null;
	lastActivityAt: string | null;
}

export interface HeadsOptions {
	log: Pick<Collection<MessageDoc>, "find" | "findOne">;
	heads: Pick<Collection<HeadDoc>, "findByIds" | "findById" | "updateMany" | "insertIfAbsent">;
	cursors: Pick<Cursors, "advance" | "ofViewer">;
	/** A deferred write failed: the log stays authoritative, so it is only worth a warning. */
	onFlushError(reason: unknown): void;
	flushDelayMs?: number;
}

/**
 * The read model of conversation heads (last message, and the sender's own read position) over the
 * gapless log, with its writes deferred: a send leaves a head write and a sender-cursor write that need
 * not hold up its answer. They are coalesced per conversation and per sender and written a moment
 * later, so a busy conversation costs one head write per flush, not per message.
 */
export class Heads {
	private readonly options: HeadsOptions;
	private pendingHeads = new Map<string, number>();
	private pendingReads = new Map<string, { groupId: string; userId: string; seq: number }>();
	private flushTimer: NodeJS.Timeout | null = null;

	constructor(options: HeadsOptions) {
		this.options = options;
	}

	/**
	 * The last message of each conversation. The stored head is a hint that may lag the log by what the
	 * last flush has not written yet (or by a crash); seqs have no gaps, so reading on from it is exact.
	 */
	async latestMessages(groupIds: string[]): Promise<Map<string, MessageDoc>> {
		const { log, heads } = this.options;
		const hint = new Map((await heads.findByIds(groupIds)).map(h => [h._id, h.lastSeq]));
		const keys = groupIds.flatMap(g => {
			const seq = hint.get(g) ?? 0;
			return seq > 0 ? [groupSeqKey(g, seq), groupSeqKey(g, seq + 1)] : [groupSeqKey(g, 1)];
		});
		const found = new Map((await log.find({ groupSeq: { $in: keys } })).map(m => [m.groupSeq, m]));
		const latest = new Map<string, MessageDoc>();
		for (const groupId of groupIds) {
			const seq = hint.get(groupId) ?? 0;
			let doc = found.get(groupSeqKey(groupId, seq + 1)) ?? (seq > 0 ? found.get(groupSeqKey(groupId, seq)) : undefined);
			while (doc && doc.seq > seq) {
				const next = await log.findOne({ groupSeq: groupSeqKey(groupId, doc.seq + 1) });
				if (!next) break;
				doc = next;
			}
			if (doc) latest.set(groupId, doc);
		}
		return latest;
	}

	/** What readers on any node see: the seq of the conversation's last stored message. */
	async lastSeq(groupId: string): Promise<number> {
		return (await this.latestMessages([groupId])).get(groupId)?.seq ?? 0;
	}

	/** The viewer's heads for the conversation list: last seq and message, the viewer's cursors. */
	async forViewer(groupIds: string[], userId: string, secret: string): Promise<ConversationHead[]> {
		const [latest, cursors] = await Promise.all([this.latestMessages(groupIds), this.options.cursors.ofViewer(groupIds, userId)]);
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
				lastMessage: last ? toMessage(last, secret) : null,
				lastActivityAt: last ? new Date(last.createdAt).toISOString() : null
			};
		});
	}

	/** The conversation's head moves and the sender has read what they wrote: both written behind. */
	deferAfterSend(doc: MessageDoc): void {
		const head = this.pendingHeads.get(doc.groupId);
		if (head == null || head < doc.seq) this.pendingHeads.set(doc.groupId, doc.seq);
		const key = cursorId(doc.groupId, doc.senderId);
		const read = this.pendingReads.get(key);
		if (!read || read.seq < doc.seq) this.pendingReads.set(key, { groupId: doc.groupId, userId: doc.senderId, seq: doc.seq });
		this.flushTimer ??= setTimeout(() => void this.flush(), this.options.flushDelayMs ?? 200);
	}

	async flush(): Promise<void> {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		const heads = this.pendingHeads;
		const reads = this.pendingReads;
		this.pendingHeads = new Map();
		this.pendingReads = new Map();
		const results = await Promise.allSettled([
			...[...heads].map(([groupId, seq]) => this.writeHead(groupId, seq)),
			...[...reads.values()].map(r => this.options.cursors.advance(r.groupId, r.userId, "readSeq", r.seq))
		]);
		for (const r of results) if (r.status === "rejected") this.options.onFlushError(r.reason);
	}

	/** Monotonic: a late write never moves the head backwards. */
	private async writeHead(groupId: string, seq: number): Promise<void> {
		const { heads } = this.options;
		const update = { $set: { lastSeq: seq } };
		if ((await heads.updateMany({ _id: groupId, lastSeq: { $lt: seq } }, update)) > 0) return;
		if (await heads.findById(groupId)) return;
		await heads.insertIfAbsent({ _id: groupId, lastSeq: 0 });
		await heads.updateMany({ _id: groupId, lastSeq: { $lt: seq } }, update);
	}
}
