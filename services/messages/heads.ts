import type { Message } from "../../contract/messages.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { Cursors } from "./cursors.ts";
import { groupSeqKey, toMessage, type CursorDoc, type HeadDoc, type MessageDoc } from "./documents.ts";

/** Per-viewer state of a conversation (what `messages.heads` answers the groups service). */
export interface ConversationHead {
	groupId: string;
	lastSeq: number;
	readSeq: number;
	deliveredSeq: number;
	/** The viewer's "mark as unread" marker as stored (see unread.ts). */
	unreadFrom: number | null;
	lastMessage: Message | null;
	lastActivityAt: string | null;
	/** Unread messages that mention the viewer: filled in by `messages.heads` (mention-counts.ts), not by Heads. */
	mentionCount?: number;
}

export interface HeadsOptions {
	log: Pick<Collection<MessageDoc>, "find" | "findOne">;
	heads: Pick<Collection<HeadDoc>, "findByIds" | "findById" | "updateMany" | "insertIfAbsent">;
	cursors: Pick<Cursors, "ofViewer" | "deferRead" | "takeDeferred">;
	/** A deferred write failed: the log stays authoritative, so it is only worth a warning. */
	onFlushError(reason: unknown): void;
	/** How long sender-cursor writes are coalesced (default 1 s). */
	flushDelayMs?: number;
	/** The stored head is rewritten once it lags the log by this many seqs (default 64), and on stop. */
	headStride?: number;
}

/** The viewer's read cursor, where their own last message counts as read even if the deferred cursor write was lost in a crash. */
export function viewerReadSeq(
	last: Pick<MessageDoc, "seq" | "senderId"> | null | undefined,
	cursor: Pick<CursorDoc, "readSeq"> | undefined,
	userId: string
): number {
	return Math.max(cursor?.readSeq ?? 0, last?.senderId === userId ? last.seq : 0);
}

/** Deferred writes issued per event-loop turn. */
const FLUSH_CHUNK = 64;

/** Conversations whose last seq this node keeps in memory. */
const KNOWN_HEADS = 20_000;

/**
 * The read model of conversation heads (last message, and the sender's own read position) over the
 * gapless log, with its writes deferred: a send leaves a head write and a sender-cursor write that need
 * not hold up its answer. The head is only a hint (readers read on from it through the log, a batch of
 * seqs per query), so it is written once per `headStride` messages of a conversation, not per message,
 * and this node reads on from the last seq it stored itself. Sender cursors are coalesced per conversation
 * and sender over `flushDelayMs`, so writes grow with active senders, not with messages.
 */
export class Heads {
	private readonly options: HeadsOptions;
	private pendingHeads = new Map<string, number>();
	private flushTimer: NodeJS.Timeout | null = null;
	/** Last seq this node stored per conversation, and the stored head as this node last wrote or read it. */
	private readonly known = new Map<string, { seq: number; stored: number | null }>();

	constructor(options: HeadsOptions) {
		this.options = options;
	}

	/**
	 * The last message of each conversation. The stored head is a hint that may lag the log by what the
	 * last flush has not written yet (or by a crash); seqs have no gaps, so reading on from it is exact.
	 */
	async latestMessages(groupIds: string[]): Promise<Map<string, MessageDoc>> {
		const { log, heads } = this.options;
		const stored = await heads.findByIds(groupIds);
		for (const h of stored) {
			const known = this.known.get(h._id);
			if (known) known.stored = Math.max(known.stored ?? 0, h.lastSeq);
		}
		const hint = new Map(stored.map(h => [h._id, Math.max(h.lastSeq, this.known.get(h._id)?.seq ?? 0)]));
		for (const g of groupIds) if (!hint.has(g) && this.known.has(g)) hint.set(g, this.known.get(g)!.seq);
		const keys = groupIds.flatMap(g => {
			const seq = hint.get(g) ?? 0;
			return seq > 0 ? [groupSeqKey(g, seq), groupSeqKey(g, seq + 1)] : [groupSeqKey(g, 1)];
		});
		const found = new Map((await log.find({ groupSeq: { $in: keys } })).map(m => [m.groupSeq, m]));
		const latest = new Map<string, MessageDoc>();
		const behind: MessageDoc[] = [];
		for (const groupId of groupIds) {
			const seq = hint.get(groupId) ?? 0;
			const ahead = found.get(groupSeqKey(groupId, seq + 1));
			const doc = ahead ?? (seq > 0 ? found.get(groupSeqKey(groupId, seq)) : undefined);
			if (doc) latest.set(groupId, doc);
			if (ahead) behind.push(ahead);
		}
		await this.readOn(latest, behind);
		return latest;
	}

	/** The hint lagged: reads on through the log, `headStride` seqs of every lagging conversation per query. */
	private async readOn(latest: Map<string, MessageDoc>, behind: MessageDoc[]): Promise<void> {
		const stride = this.options.headStride ?? 64;
		let lagging = behind;
		for (let batch = 1; lagging.length > 0; batch = Math.min(batch * 4, stride)) {
			const keys = lagging.flatMap(doc => Array.from({ length: batch }, (_, i) => groupSeqKey(doc.groupId, doc.seq + 1 + i)));
			const found = new Map((await this.options.log.find({ groupSeq: { $in: keys } })).map(m => [m.groupSeq, m]));
			const next: MessageDoc[] = [];
			for (const doc of lagging) {
				let last = doc;
				for (let seq = doc.seq + 1; found.has(groupSeqKey(doc.groupId, seq)); seq++) last = found.get(groupSeqKey(doc.groupId, seq))!;
				latest.set(doc.groupId, last);
				if (last.seq === doc.seq + batch) next.push(last);
			}
			lagging = next;
		}
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
			const readSeq = viewerReadSeq(last, cursor, userId);
			return {
				groupId,
				lastSeq: last?.seq ?? 0,
				readSeq,
				deliveredSeq: Math.max(cursor?.deliveredSeq ?? 0, readSeq),
				unreadFrom: cursor?.unreadFrom ?? null,
				lastMessage: last ? toMessage(last, secret) : null,
				lastActivityAt: last ? new Date(last.createdAt).toISOString() : null
			};
		});
	}

	/** The conversation's head moves and the sender has read what they wrote (unless `senderReads` is false): both written behind. */
	deferAfterSend(doc: MessageDoc, senderReads = true): void {
		const known = this.know(doc.groupId, doc.seq);
		if (known.stored == null || doc.seq - known.stored >= (this.options.headStride ?? 64)) this.pendHead(doc.groupId, doc.seq);
		this.flushTimer ??= setTimeout(() => void this.flush(false), this.options.flushDelayMs ?? 1000);
		if (senderReads) this.options.cursors.deferRead(doc.groupId, doc.senderId, doc.seq);
	}

	/** Writes what is pending; `all` (on stop) also brings every stored head this node lags up to date. */
	async flush(all = true): Promise<void> {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		if (all) for (const [groupId, known] of this.known) if (known.seq > (known.stored ?? 0)) this.pendHead(groupId, known.seq);
		const heads = this.pendingHeads;
		this.pendingHeads = new Map();
		const writes = [
			...[...heads].map(
				([groupId, seq]) =>
					() =>
						this.writeHead(groupId, seq)
			),
			...this.options.cursors.takeDeferred()
		];
		// NeDB's writes chain on promises alone: a thousand of them in one go would hold the event loop (and every send) meanwhile.
		for (let at = 0; at < writes.length; at += FLUSH_CHUNK) {
			if (at > 0) await new Promise(resolve => setImmediate(resolve));
			const results = await Promise.allSettled(writes.slice(at, at + FLUSH_CHUNK).map(write => write()));
			for (const r of results) if (r.status === "rejected") this.options.onFlushError(r.reason);
		}
	}

	/** Monotonic: a late write never moves the head backwards. */
	private async writeHead(groupId: string, seq: number): Promise<void> {
		const { heads } = this.options;
		const update = { $set: { lastSeq: seq } };
		if ((await heads.updateMany({ _id: groupId, lastSeq: { $lt: seq } }, update)) === 0 && !(await heads.findById(groupId))) {
			await heads.insertIfAbsent({ _id: groupId, lastSeq: 0 });
			await heads.updateMany({ _id: groupId, lastSeq: { $lt: seq } }, update);
		}
		const known = this.known.get(groupId);
		if (known) known.stored = Math.max(known.stored ?? 0, seq);
	}

	private pendHead(groupId: string, seq: number): void {
		const head = this.pendingHeads.get(groupId);
		if (head == null || head < seq) this.pendingHeads.set(groupId, seq);
	}

	/** Bounded: a conversation that falls out has its head written with the next flush, so no stored head lags far. */
	private know(groupId: string, seq: number): { seq: number; stored: number | null } {
		let known = this.known.get(groupId);
		if (known) {
			known.seq = Math.max(known.seq, seq);
			return known;
		}
		if (this.known.size >= KNOWN_HEADS) {
			const [oldest, evicted] = this.known.entries().next().value!;
			this.known.delete(oldest);
			if (evicted.seq > (evicted.stored ?? 0)) this.pendHead(oldest, evicted.seq);
		}
		known = { seq, stored: null };
		this.known.set(groupId, known);
		return known;
	}
}
