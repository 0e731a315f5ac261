import type { EventReaction } from "../../contract/messages.ts";
import { invalidField, MoleculerClientError } from "../../lib/errors.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { MessageDoc } from "./documents.ts";

/**
 * Reactions: each one its own document (unique by message, user and emoji, so two toggles racing cannot
 * count twice), and a summary on the message (`reactions`: per emoji the count and the first few users,
 * oldest first) that readers get with the message at no extra cost. The summary is rewritten from the
 * documents on every real change, as a change of the message in the conversation's change order.
 */

export interface ReactionDoc {
	/** `${messageId}:${userId}:${emoji}`: unique, so a user reacts with an emoji once. */
	_id: string;
	messageId: string;
	groupId: string;
	userId: string;
	emoji: string;
	createdAt: Date;
}

/** Users the summary names per emoji (contract: EventReaction.userIds). */
export const REACTION_USERS_SHOWN = 10;

export const reactionId = (messageId: string, userId: string, emoji: string) => `${messageId}:${userId}:${emoji}`;

/** The longest RGI emoji (a family or a flag of a subdivision) is about 15 code units; anything much longer is no emoji. */
const MAX_EMOJI_LENGTH = 32;
// The `v` flag's string property: exactly one emoji of the Unicode RGI set (skin tones and ZWJ sequences included).
const ONE_EMOJI = new RegExp("^\\p{RGI_Emoji}$", "v");
const VARIATION_SELECTOR_16 = "\ufe0f";

/**
 * The emoji as stored, or 422 naming `emoji`: one RGI emoji, nothing around it. A symbol typed without its
 * emoji presentation selector ("❤" for "❤️") is taken as the emoji it stands for, so both count as one.
 */
export function checkedEmoji(raw: unknown): string {
	if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_EMOJI_LENGTH) {
		throw invalidField("emoji", "The 'emoji' field must be one emoji.", "emoji");
	}
	if (ONE_EMOJI.test(raw)) return raw;
	if (!raw.includes(VARIATION_SELECTOR_16) && ONE_EMOJI.test(raw + VARIATION_SELECTOR_16)) return raw + VARIATION_SELECTOR_16;
	throw invalidField("emoji", "The 'emoji' field must be exactly one emoji.", "emoji");
}

/** 422: the message already carries `limit` different emoji and this is another one. */
export function assertRoomFor(summary: EventReaction[], emoji: string, limit: number): void {
	if (summary.length >= limit && !summary.some(r => r.emoji === emoji)) {
		throw new MoleculerClientError(`A message can carry at most ${limit} different reactions`, 422, "REACTION_LIMIT_REACHED", { limit });
	}
}

/** The summary with one emoji's entry replaced (null: nobody has it any more); a new emoji goes last. */
export function withEntry(summary: EventReaction[], emoji: string, entry: EventReaction | null): EventReaction[] {
	const at = summary.findIndex(r => r.emoji === emoji);
	if (!entry) return at < 0 ? summary : summary.filter((_, i) => i !== at);
	return at < 0 ? [...summary, entry] : summary.map((r, i) => (i === at ? entry : r));
}

type ReactionStore = Pick<Collection<ReactionDoc>, "find" | "count">;

/** One emoji's entry of a message's summary, read from the reactions themselves. */
export async function entryOf(reactions: ReactionStore, messageId: string, emoji: string): Promise<EventReaction | null> {
	const [count, first] = await Promise.all([
		reactions.count({ messageId, emoji }),
		reactions.find({ messageId, emoji }, { sort: ["createdAt", "_id"], limit: REACTION_USERS_SHOWN })
	]);
	return count > 0 ? { emoji, count, userIds: first.map(r => r.userId) } : null;
}

/** Per message id, the emoji the viewer chose: what `Reaction.me` says. */
export type ViewerReactions = Map<string, Set<string>>;

/**
 * The viewer's emoji on these messages. The summary names the first few users of each emoji; only where
 * the viewer is not among them and there are more does it take a look at the reactions (one query for
 * the whole page, none for a page without such reactions).
 */
export async function viewerReactions(reactions: Pick<Collection<ReactionDoc>, "find">, docs: MessageDoc[], viewerId: string): Promise<ViewerReactions> {
	const mine: ViewerReactions = new Map();
	const unsure: string[] = [];
	for (const doc of docs) {
		if (!doc.reactions?.length || doc.deletedAt) continue;
		const own = new Set<string>();
		let lookUp = false;
		for (const r of doc.reactions) {
			if (r.userIds.includes(viewerId)) own.add(r.emoji);
			else if (r.count > r.userIds.length) lookUp = true;
		}
		mine.set(doc._id, own);
		if (lookUp) unsure.push(doc._id);
	}
	if (unsure.length) for (const r of await reactions.find({ messageId: { $in: unsure }, userId: viewerId })) mine.get(r.messageId)!.add(r.emoji);
	return mine;
}
