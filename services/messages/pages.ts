import type { Collection } from "../../mixins/db.mixin.ts";
import { groupSeqKey, type MessageDoc } from "./documents.ts";

/** Seqs have no gaps, so a page of a conversation is one index range: O(log n + limit). */

export interface SeqRange {
	from: number;
	to: number;
}

export interface HistoryPage {
	before?: number;
	after?: number;
	around?: number;
	limit: number;
}

/** The positions a history page may start from; a page names at most one. */
export const PAGE_POSITIONS = ["before", "after", "around"] as const;

/**
 * `after` pages forward from a seq; `around` is the page centred on a seq (a jump to a message not loaded),
 * moved inwards at either end of the conversation so it stays full; otherwise backward from `before` (or
 * from the end). Empty when to < from.
 */
export function historyRange(lastSeq: number, page: HistoryPage): SeqRange {
	const { before, after, around, limit } = page;
	if (after != null) return { from: after + 1, to: Math.min(after + limit, lastSeq) };
	if (around != null) {
		const to = Math.min(Math.max(1, around - Math.floor((limit - 1) / 2)) + limit - 1, lastSeq);
		return { from: Math.max(1, to - limit + 1), to };
	}
	const to = Math.min(before != null ? before - 1 : lastSeq, lastSeq);
	return { from: Math.max(1, to - limit + 1), to };
}

/** What a client that has seen up to `cursor` is missing, at most `size` of it. */
export function catchUpRange(lastSeq: number, cursor: number, size: number): SeqRange {
	return { from: cursor + 1, to: Math.min(lastSeq, cursor + size) };
}

export async function pageOf(log: Pick<Collection<MessageDoc>, "find">, groupId: string, { from, to }: SeqRange): Promise<MessageDoc[]> {
	if (to < from) return [];
	return log.find({ groupSeq: { $gte: groupSeqKey(groupId, from), $lte: groupSeqKey(groupId, to) } }, { sort: ["groupSeq"] });
}
