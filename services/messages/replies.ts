import type { ReplyRef } from "../../contract/messages.ts";
import { invalidField } from "../../lib/errors.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import { versionFields, type MessageDoc } from "./documents.ts";

/**
 * Replies carry what they show of the original (`replyTo`), written when the reply is sent and rewritten
 * when the original is edited or deleted, each rewrite a change of the reply with its own version. That
 * costs a write per reply on an edit (rare) instead of a lookup of the originals on every read (common),
 * and it keeps sync simple: a reply whose excerpt changed is a changed message like any other.
 */

export const EXCERPT_LENGTH = 140;

/** The first EXCERPT_LENGTH characters (whole code points); null once the original is deleted. */
export function excerptOf(doc: Pick<MessageDoc, "content" | "deletedAt">): string | null {
	if (doc.deletedAt) return null;
	const chars = Array.from(doc.content);
	return chars.length <= EXCERPT_LENGTH ? doc.content : chars.slice(0, EXCERPT_LENGTH).join("").trimEnd() + "…";
}

export function replyRefOf(original: MessageDoc): ReplyRef {
	return { id: original._id, seq: original.seq, senderId: original.senderId, excerpt: excerptOf(original) };
}

/** The original a send answers: 422 naming replyTo when it is unknown, in another conversation or a system line. */
export async function replyTarget(log: Pick<Collection<MessageDoc>, "findById">, groupId: string, replyTo: string): Promise<ReplyRef> {
	const original = await log.findById(replyTo);
	if (!original) throw invalidField("replyTo", "The 'replyTo' field must name a message of this conversation; this one does not exist.", "unknownMessage");
	if (original.groupId !== groupId) throw invalidField("replyTo", "The 'replyTo' field must name a message of the same conversation.", "otherConversation");
	if (original.system) throw invalidField("replyTo", "The 'replyTo' field must name a message, not a system line.", "systemLine");
	return replyRefOf(original);
}

/** `ref` as its original is stored now. */
export async function currentReplyRef(log: Pick<Collection<MessageDoc>, "findById">, ref: ReplyRef): Promise<ReplyRef> {
	const original = await log.findById(ref.id);
	return original ? replyRefOf(original) : { ...ref, excerpt: null };
}

/** Replies whose excerpt no longer matches the original (after its edit or delete); deleted replies stay as they were. */
export async function staleReplies(log: Pick<Collection<MessageDoc>, "find">, original: MessageDoc): Promise<MessageDoc[]> {
	const excerpt = excerptOf(original);
	const replies = await log.find({ "replyTo.id": original._id });
	return replies.filter(r => r.groupId === original.groupId && !r.deletedAt && r.replyTo!.excerpt !== excerpt);
}

/** A reply with its excerpt refreshed at `version`. */
export function refreshedReply(reply: MessageDoc, original: MessageDoc, version: number): MessageDoc {
	return { ...reply, replyTo: { ...reply.replyTo!, excerpt: excerptOf(original) }, ...versionFields(reply.groupId, version) };
}
