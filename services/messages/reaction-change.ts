import type { ReactionsEvent } from "../../contract/messages.ts";
import { conflict } from "../../lib/errors.ts";
import { outboxUpdate } from "../../lib/outbox.ts";
import type { UserContext } from "../../lib/session.ts";
import { DuplicateKeyError } from "../../mixins/db.mixin.ts";
import { versionFields, versionOf, type MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { assertRoomFor, entryOf, reactionId, withEntry } from "./reactions.ts";

export interface ReactionToggle {
	emoji: string;
	on: boolean;
	/** Distinct emoji a message may carry (MESSAGE_REACTION_LIMIT). */
	limit: number;
}

/**
 * Puts the caller's emoji on a message or takes it off, under the conversation's lock (after the sends and
 * changes queued before it, so a delete that came first wins with 409). A toggle that changes nothing
 * (already on, already off) answers the current state and announces nothing; a real one rewrites the
 * emoji's entry of the summary from the reactions themselves, as a change with the next version, and
 * records `message.reactions` for the stream in the same write. The answer is also what members hear.
 */
export async function toggleReaction(svc: MessagesState, ctx: UserContext<unknown>, found: MessageDoc, toggle: ReactionToggle): Promise<ReactionsEvent> {
	const actorId = ctx.meta.user.id;
	const { groupId } = found;
	const { emoji, on } = toggle;
	const stateOf = (doc: MessageDoc): ReactionsEvent => ({
		groupId,
		messageId: doc._id,
		version: versionOf(doc),
		reactions: doc.reactions ?? [],
		actorId,
		emoji,
		on
	});
	return svc.sequencer.change(groupId, async stamp => {
		const current = (await svc.db.messages.findById(found._id)) ?? found;
		if (current.deletedAt) throw conflict("A deleted message cannot be reacted to", "MESSAGE_DELETED");
		const _id = reactionId(current._id, actorId, emoji);
		const had = await svc.db.reactions.findById(_id);
		const already = !!had === on;
		if (already) {
			// A crash between an earlier toggle's two writes leaves the summary behind the reactions: this toggle mends it.
			const shown = (current.reactions ?? []).find(r => r.emoji === emoji) ?? null;
			if (JSON.stringify(shown) === JSON.stringify(await entryOf(svc.db.reactions, current._id, emoji))) return stateOf(current);
		} else if (on) {
			assertRoomFor(current.reactions ?? [], emoji, toggle.limit);
			try {
				await svc.db.reactions.insert({ _id, messageId: current._id, groupId, userId: actorId, emoji, createdAt: new Date() });
			} catch (err) {
				// The same toggle won on another node a moment ago: it is on, as asked.
				if (err instanceof DuplicateKeyError) return stateOf(current);
				throw err;
			}
		} else {
			await svc.db.reactions.removeById(_id);
		}
		try {
			const reactions = withEntry(current.reactions ?? [], emoji, await entryOf(svc.db.reactions, current._id, emoji));
			const changed = await stamp(async version => {
				const payload = { messageId: current._id, seq: current.seq, version, reactions, actorId, emoji, on };
				const outbox = outboxUpdate(svc.outboxEvent("message.reactions", groupId, payload));
				const $set = { reactions, ...versionFields(groupId, version) };
				return (await svc.db.messages.updateById(current._id, { $set, ...outbox }))!;
			});
			const event = stateOf(changed!);
			ctx.broadcast("message.reactions", event);
			return event;
		} catch (err) {
			// The summary was not written: the reaction goes back to how it was, so the two agree.
			if (already) throw err;
			if (on) await svc.db.reactions.removeById(_id);
			else await svc.db.reactions.insertIfAbsent(had!);
			throw err;
		}
	});
}

/** A deleted message keeps no reactions (its summary is hidden with its content). */
export async function dropReactions(svc: Pick<MessagesState, "db">, messageId: string): Promise<void> {
	await svc.db.reactions.removeMany({ messageId });
}
