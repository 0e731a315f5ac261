import type { Collection } from "../../mixins/db.mixin.ts";
import { groupVersionKey, MAX_SEQ_DIGITS, versionOf, type MessageDoc } from "./documents.ts";

/**
 * The change order of a conversation: every change of its messages (a send, an edit, a delete, a reply's
 * excerpt refresh) takes the next value of the conversation's counter, stored on the message as `version`
 * with a unique `groupVersion` key (assigned by the Sequencer under the conversation's lock). A message's
 * version is that of its latest change, so "what changed since version v" is one index range.
 */

type Log = Pick<Collection<MessageDoc>, "find">;

const LAST_KEY_SUFFIX = "9".repeat(MAX_SEQ_DIGITS);

/**
 * The conversation's last version as stored. Every version given after the conversation's last message
 * was sent is above that message's version, so the search starts there instead of at the first message.
 */
export async function storedLastVersion(log: Log, groupId: string, latest: MessageDoc | undefined): Promise<number> {
	const floor = latest ? versionOf(latest) : 0;
	const [last] = await log.find(
		{ groupVersion: { $gte: groupVersionKey(groupId, floor), $lte: `${groupId}:${LAST_KEY_SUFFIX}` } },
		{ sort: ["-groupVersion"], limit: 1 }
	);
	return Math.max(floor, last?.version ?? 0);
}

export interface ChangeWindow {
	/** Exclusive: the client has every change up to here. */
	since: number;
	/** Inclusive: the conversation's last version when the sync began. */
	upTo: number;
	/** Only messages the client already has by seq; later ones reach it as new messages, as they are now. */
	maxSeq: number;
	limit: number;
}

export interface ChangePage {
	/** Changed messages; those still as they were sent are left out (the client has them by seq). */
	docs: MessageDoc[];
	/** The high-water mark the client has after applying `docs`. */
	mark: number;
	hasMore: boolean;
}

/** A full page ends at its last change (the next sync goes on from there); otherwise the window is done up to `upTo`. */
export function pageMark(window: ChangeWindow, docs: Pick<MessageDoc, "seq" | "version">[]): { mark: number; hasMore: boolean } {
	if (window.upTo <= window.since) return { mark: Math.max(window.since, window.upTo), hasMore: false };
	if (docs.length >= window.limit) return { mark: versionOf(docs[docs.length - 1]), hasMore: true };
	return { mark: window.upTo, hasMore: false };
}

/** The messages of one conversation changed within the window, oldest change first: O(log n + limit). */
export async function changesPage(log: Log, groupId: string, window: ChangeWindow): Promise<ChangePage> {
	if (window.upTo <= window.since || window.maxSeq < 1) return { docs: [], ...pageMark(window, []) };
	const docs = await log.find(
		{
			groupVersion: { $gt: groupVersionKey(groupId, window.since), $lte: groupVersionKey(groupId, window.upTo) },
			seq: { $lte: window.maxSeq }
		},
		{ sort: ["groupVersion"], limit: window.limit }
	);
	return { docs: docs.filter(changedSinceSent), ...pageMark(window, docs) };
}

/** Whether a message's latest change is something after its creation. */
export const changedSinceSent = (doc: Pick<MessageDoc, "version" | "createdVersion">): boolean => doc.version !== doc.createdVersion;
