import type { Receipt } from "../../contract/messages.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { outboxUpdate } from "../../lib/outbox.ts";
import { cursorId, type CursorDoc } from "./documents.ts";

export type CursorField = "deliveredSeq" | "readSeq";

/** The event a streamed move of each cursor records and broadcasts. */
export const RECEIPT_EVENTS = { deliveredSeq: "message.delivered", readSeq: "message.seen" } as const;

interface DeferredRead {
	groupId: string;
	userId: string;
	seq: number;
}

/**
 * Every member's delivered and read positions, one document per member and conversation. A sender has
 * read what they sent, but that move is written behind (deferRead, coalesced by Heads' flush): until it is
 * stored, every read here counts it, so receipts, statuses and `moved` never lag a send.
 */
export class Cursors {
	private readonly cursors: Collection<CursorDoc>;
	private readonly outboxEvent: OutboxMethods["outboxEvent"];
	/** Read moves not yet handed to a write, by cursor id. */
	private deferred = new Map<string, DeferredRead>();
	/** Deferred reads being written, by cursor id. */
	private readonly writing = new Map<string, Promise<void>>();
	/** Read moves not yet stored (deferred or being written), by conversation and user. */
	private readonly unstored = new Map<string, Map<string, number>>();

	constructor(cursors: Collection<CursorDoc>, outboxEvent: OutboxMethods["outboxEvent"]) {
		this.cursors = cursors;
		this.outboxEvent = outboxEvent;
	}

	/**
	 * Cursors only move forward ($max); reading implies delivery. Returns whether this call moved it, null
	 * when the user has no cursor here (not a member); a `streamed` move records its receipt event in the same write.
	 */
	async advance(groupId: string, userId: string, field: CursorField, seq: number, streamed = false): Promise<boolean | null> {
		if (this.unstoredRead(groupId, userId) >= seq) return false;
		return this.store(groupId, userId, field, seq, { streamed });
	}

	/** The sender has read up to `seq`: written by the next takeDeferred's writes, counted from now on. */
	deferRead(groupId: string, userId: string, seq: number): void {
		const key = cursorId(groupId, userId);
		const deferred = this.deferred.get(key);
		if (!deferred || deferred.seq < seq) this.deferred.set(key, { groupId, userId, seq });
		let members = this.unstored.get(groupId);
		if (!members) this.unstored.set(groupId, (members = new Map()));
		if ((members.get(userId) ?? 0) < seq) members.set(userId, seq);
	}

	/** A sender's read that a crash may have cut off the write-behind (read-recovery.ts): members' cursors only, markers untouched. */
	async restoreRead(groupId: string, userId: string, seq: number): Promise<boolean> {
		return (await this.store(groupId, userId, "readSeq", seq)) === true;
	}

	/** The deferred reads as writes, for the caller to pace; each stays counted until its write has settled. */
	takeDeferred(): (() => Promise<unknown>)[] {
		const reads = [...this.deferred.values()];
		this.deferred = new Map();
		return reads.map(read => () => this.writeDeferred(read));
	}

	/** Writes the member's deferred read now (and waits for one being written): "mark as unread" must come after it. */
	async settleDeferred(groupId: string, userId: string): Promise<void> {
		const key = cursorId(groupId, userId);
		const read = this.deferred.get(key);
		this.deferred.delete(key);
		await Promise.all([this.writing.get(key), read ? this.writeDeferred(read) : undefined]);
	}

	/** Sending is reading: the write also clears the sender's "mark as unread" marker (Slack's rule). */
	private writeDeferred(read: DeferredRead): Promise<void> {
		const key = cursorId(read.groupId, read.userId);
		const write = this.store(read.groupId, read.userId, "readSeq", read.seq, { clearsMarker: true })
			.then(() => undefined)
			.finally(() => {
				if (this.writing.get(key) === write) this.writing.delete(key);
				// A later send's read stays counted until its own write.
				if (this.unstoredRead(read.groupId, read.userId) === read.seq) this.dropUnstored(read.groupId, read.userId);
			});
		this.writing.set(key, write);
		return write;
	}

	private unstoredRead(groupId: string, userId: string): number {
		return this.unstored.get(groupId)?.get(userId) ?? 0;
	}

	private forget(groupId: string, userId: string): void {
		this.deferred.delete(cursorId(groupId, userId));
		this.dropUnstored(groupId, userId);
	}

	private dropUnstored(groupId: string, userId: string): void {
		const members = this.unstored.get(groupId);
		members?.delete(userId);
		if (members?.size === 0) this.unstored.delete(groupId);
	}

	/**
	 * Moves a stored cursor; null when there is none. Every member has a cursor from the moment they join
	 * (startAt) until they leave (drop), so a move that finds none is of someone who is no member (any more,
	 * possibly through another node, while a cached membership still let their receipt or deferred read in):
	 * nothing here creates one, or they would count among the members in every receipt from then on.
	 */
	private async store(
		groupId: string,
		userId: string,
		field: CursorField,
		seq: number,
		{ streamed = false, clearsMarker = false } = {}
	): Promise<boolean | null> {
		const _id = cursorId(groupId, userId);
		const event = streamed ? this.outboxEvent(RECEIPT_EVENTS[field], groupId, { userId, seq }) : null;
		const update = {
			...(field === "readSeq" ? { $max: { readSeq: seq, deliveredSeq: seq } } : { $max: { deliveredSeq: seq } }),
			...(clearsMarker ? { $set: { unreadFrom: null } } : {}),
			...outboxUpdate(event)
		};
		if ((await this.cursors.updateMany({ _id, [field]: { $lt: seq } }, update)) > 0) return true;
		return (await this.cursors.findById(_id)) ? false : null;
	}

	async receiptsOf(groupId: string): Promise<Receipt[]> {
		const cursors = await this.cursors.find({ groupId });
		const receipts = new Map(cursors.map(c => [c.userId, { userId: c.userId, deliveredSeq: Math.max(c.deliveredSeq, c.readSeq), readSeq: c.readSeq }]));
		// Members only: a deferred read of someone without a cursor creates none either.
		for (const [userId, seq] of this.unstored.get(groupId) ?? []) {
			const receipt = receipts.get(userId);
			if (receipt && receipt.readSeq < seq) receipts.set(userId, { userId, deliveredSeq: Math.max(receipt.deliveredSeq, seq), readSeq: seq });
		}
		return [...receipts.values()];
	}

	/** One viewer's cursors in these conversations (absent where they have none yet). */
	async ofViewer(groupIds: string[], userId: string): Promise<CursorDoc[]> {
		const stored = new Map((await this.cursors.findByIds(groupIds.map(g => cursorId(g, userId)))).map(c => [c.groupId, c]));
		return groupIds.flatMap(groupId => {
			const cursor = stored.get(groupId);
			const seq = this.unstoredRead(groupId, userId);
			if (!cursor) return [];
			if (cursor.readSeq >= seq) return [cursor];
			// A send after the marker clears it (settleDeferred keeps a later marker after the send).
			return [{ ...cursor, readSeq: seq, deliveredSeq: Math.max(cursor.deliveredSeq, seq), unreadFrom: null }];
		});
	}

	/** New members start at `seq` (the conversation's current end): their unread count is what arrives after they join. */
	async startAt(groupId: string, userIds: string[], seq: number): Promise<void> {
		for (const userId of userIds) {
			const _id = cursorId(groupId, userId);
			this.forget(groupId, userId);
			await this.cursors.removeById(_id);
			await this.cursors.insertIfAbsent({ _id, groupId, userId, deliveredSeq: seq, readSeq: seq });
		}
	}

	async drop(groupId: string, userIds: string[]): Promise<void> {
		for (const userId of userIds) {
			// A removed member's deferred read must not bring their cursor back.
			this.forget(groupId, userId);
			await this.cursors.removeById(cursorId(groupId, userId));
		}
	}
}
