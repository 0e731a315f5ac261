import type { Collection } from "../../mixins/db.mixin.ts";
import type { Cursors } from "./cursors.ts";
import type { MessageDoc } from "./documents.ts";

/** Longer than the write-behind's delay (Heads' flushDelayMs, 1 s) with room for a slow last flush. */
export const RECOVERY_WINDOW_MS = 10_000;

/** The smallest ordered id (newOrderedId) of a millisecond. */
const firstIdAt = (ms: number) => Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0") + "0".repeat(12);

/**
 * A sender has read what they sent, but that cursor is written behind (Heads, up to a second later), so a
 * crash loses the last second of such reads and receipts would move back. At start, the senders of the
 * messages stored in the last RECOVERY_WINDOW_MS before the store's last write get those reads again:
 * cursors only move forward, so what the write-behind did store is left as it is. Returns how many moved.
 */
export async function restoreSenderReads(log: Collection<MessageDoc>, cursors: Pick<Cursors, "restoreRead">): Promise<number> {
	const lastWrite = await log.lastWrittenBeforeStart();
	if (lastWrite == null) return 0;
	const recent = await log.find({ _id: { $gte: firstIdAt(lastWrite - RECOVERY_WINDOW_MS) } });
	const newest = new Map<string, { groupId: string; senderId: string; seq: number }>();
	for (const doc of recent) {
		// Whoever left has no cursor to move (as in appendSystemLine).
		if (doc.system?.type === "member.left") continue;
		const key = `${doc.groupId}:${doc.senderId}`;
		if ((newest.get(key)?.seq ?? 0) < doc.seq) newest.set(key, { groupId: doc.groupId, senderId: doc.senderId, seq: doc.seq });
	}
	let moved = 0;
	for (const read of newest.values()) if (await cursors.restoreRead(read.groupId, read.senderId, read.seq)) moved++;
	return moved;
}
