import type { Collection } from "../../../mixins/db.mixin.ts";
import { groupSeqKey, type MessageDoc } from "../../../services/messages/documents.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";

/** The messages collection with the service's unique indexes. */
export function messageLog(): Promise<Collection<MessageDoc>> {
	return memoryCollection<MessageDoc>("messages", [
		{ fields: { groupSeq: 1 }, unique: true },
		{ fields: { clientKey: 1 }, unique: true, sparse: true }
	]);
}

let ids = 0;

export function messageDoc(groupId: string, seq: number, extra: Partial<MessageDoc> = {}): MessageDoc {
	return {
		_id: `m${++ids}`,
		groupId,
		seq,
		groupSeq: groupSeqKey(groupId, seq),
		senderId: "sender",
		content: `message ${seq}`,
		clientMessageId: null,
		attachments: [],
		createdAt: new Date(),
		deletedAt: null,
		...extra
	};
}

/** The last seq stored in the log, read the slow way (what the service reads through its heads). */
export async function maxSeq(log: Collection<MessageDoc>, groupId: string): Promise<number> {
	const [last] = await log.find({ groupId }, { sort: ["-seq"], limit: 1 });
	return last?.seq ?? 0;
}

/** What a check threw, as [code, type], or null when it passed. */
export function refusal(fn: () => void): [number, string] | null {
	try {
		fn();
	} catch (err) {
		const e = err as { code: number; type: string };
		return [e.code, e.type];
	}
	return null;
}
