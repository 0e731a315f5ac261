import type { Receipt } from "../../contract/messages.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { outboxUpdate } from "../../lib/outbox.ts";
import { cursorId, type CursorDoc } from "./documents.ts";

export type CursorField = "deliveredSeq" | "readSeq";

/** The event a streamed move of each cursor records and broadcasts. */
export const RECEIPT_EVENTS = { deliveredSeq: "message.delivered", readSeq: "message.seen" } as const;

/** Every member's delivered and read positions, one document per member and conversation. */
export class Cursors {
	private readonly cursors: Collection<CursorDoc>;
	private readonly outboxEvent: OutboxMethods["outboxEvent"];

	constructor(cursors: Collection<CursorDoc>, outboxEvent: OutboxMethods["outboxEvent"]) {
		this.cursors = cursors;
		this.outboxEvent = outboxEvent;
	}

	/**
	 * Cursors only move forward ($max); reading implies delivery. Returns whether this call moved it; a
	 * `streamed` move records its receipt event in the same write.
	 */
	async advance(groupId: string, userId: string, field: CursorField, seq: number, streamed = false): Promise<boolean> {
		const _id = cursorId(groupId, userId);
		const event = streamed ? this.outboxEvent(RECEIPT_EVENTS[field], groupId, { userId, seq }) : null;
		const update = {
			...(field === "readSeq" ? { $max: { readSeq: seq, deliveredSeq: seq } } : { $max: { deliveredSeq: seq } }),
			...outboxUpdate(event)
		};
		const moved = await this.cursors.updateMany({ _id, [field]: { $lt: seq } }, update);
		if (moved > 0) return true;
		if (await this.cursors.findById(_id)) return false;
		await this.cursors.insertIfAbsent({ _id, groupId, userId, deliveredSeq: 0, readSeq: 0 });
		return (await this.cursors.updateMany({ _id, [field]: { $lt: seq } }, update)) > 0;
	}

	async receiptsOf(groupId: string): Promise<Receipt[]> {
		const cursors = await this.cursors.find({ groupId });
		return cursors.map(c => ({ userId: c.userId, deliveredSeq: Math.max(c.deliveredSeq, c.readSeq), readSeq: c.readSeq }));
	}

	/** One viewer's cursors in these conversations (absent where they have none yet). */
	ofViewer(groupIds: string[], userId: string): Promise<CursorDoc[]> {
		return this.cursors.findByIds(groupIds.map(g => cursorId(g, userId)));
	}

	/** New members start at `seq` (the conversation's current end): their unread count is what arrives after they join. */
	async startAt(groupId: string, userIds: string[], seq: number): Promise<void> {
		for (const userId of userIds) {
			const _id = cursorId(groupId, userId);
			await this.cursors.removeById(_id);
			await this.cursors.insertIfAbsent({ _id, groupId, userId, deliveredSeq: seq, readSeq: seq });
		}
	}

	async drop(groupId: string, userIds: string[]): Promise<void> {
		for (const userId of userIds) await this.cursors.removeById(cursorId(groupId, userId));
	}
}
