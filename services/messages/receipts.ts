import type { DeliveryStatus, Message, Receipt, MessageReceipts as ReceiptLists } from "../../contract/messages.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import { invalidField, notFound } from "../../lib/errors.ts";
import { toMessage, type MessageDoc, type MessageReceipts } from "./documents.ts";
import type { ViewerReactions } from "./reactions.ts";

function countAtLeast(sorted: number[], seq: number): number {
	let lo = 0;
	let hi = sorted.length;
	while (lo < hi) {
		const mid = (lo + hi) >> 1;
		if (sorted[mid] < seq) lo = mid + 1;
		else hi = mid;
	}
	return sorted.length - lo;
}

/**
 * Receipts of one conversation, ready to answer "how many others have message `seq` delivered / seen"
 * in O(log members) per message. A message is delivered (seen) once every other member has it.
 */
export class ReceiptIndex {
	private readonly delivered: number[];
	private readonly read: number[];
	private readonly byUser: Map<string, Receipt>;

	constructor(receipts: Receipt[]) {
		this.byUser = new Map(receipts.map(r => [r.userId, r]));
		this.delivered = receipts.map(r => Math.max(r.deliveredSeq, r.readSeq)).sort((a, b) => a - b);
		this.read = receipts.map(r => r.readSeq).sort((a, b) => a - b);
	}

	statusOf(senderId: string, seq: number): MessageReceipts {
		const own = this.byUser.get(senderId);
		const others = this.byUser.size - (own ? 1 : 0);
		const deliveredCount = countAtLeast(this.delivered, seq) - (own && Math.max(own.deliveredSeq, own.readSeq) >= seq ? 1 : 0);
		const seenCount = countAtLeast(this.read, seq) - (own && own.readSeq >= seq ? 1 : 0);
		const status: DeliveryStatus = others > 0 && seenCount >= others ? "seen" : others > 0 && deliveredCount >= others ? "delivered" : "sent";
		return { status, deliveredCount, seenCount };
	}
}

/**
 * Who has seen one message, who has it only delivered and who neither, from every member's cursors (the
 * sender left out), each list by user id. One pass over the members: bounded by the group size limit.
 */
export function receiptListsOf(doc: Pick<MessageDoc, "_id" | "seq" | "senderId">, receipts: Receipt[]): ReceiptLists {
	const lists: ReceiptLists = { messageId: doc._id, seenBy: [], deliveredTo: [], pending: [] };
	for (const r of [...receipts].sort((a, b) => (a.userId < b.userId ? -1 : 1))) {
		if (r.userId === doc.senderId) continue;
		const list = r.readSeq >= doc.seq ? lists.seenBy : Math.max(r.deliveredSeq, r.readSeq) >= doc.seq ? lists.deliveredTo : lists.pending;
		list.push(r.userId);
	}
	return lists;
}

/** Messages of one conversation as clients see them now, with the receipts of its members (and `me` of the viewer's reactions). */
export function withReceipts(docs: MessageDoc[], receipts: Receipt[], secret: string, mine?: ViewerReactions): Message[] {
	if (docs.length === 0) return [];
	const index = new ReceiptIndex(receipts);
	return docs.map(doc => toMessage(doc, secret, index.statusOf(doc.senderId, doc.seq), mine?.get(doc._id)));
}

/** A receipt names a seq, or a message by id; either must exist in that conversation. */
export async function resolveSeq(
	log: Pick<Collection<MessageDoc>, "findById">,
	lastSeq: () => Promise<number>,
	groupId: string,
	seq?: number,
	messageId?: string
): Promise<number> {
	if (messageId) {
		const doc = await log.findById(messageId);
		if (!doc || doc.groupId !== groupId) throw notFound("Message");
		return doc.seq;
	}
	if (seq == null) throw invalidField("seq", "The 'seq' field (or 'messageId') is required.", "required");
	const last = await lastSeq();
	if (seq > last) throw invalidField("seq", `The 'seq' field must not be beyond the last message (${last}).`, "numberMax");
	return seq;
}
