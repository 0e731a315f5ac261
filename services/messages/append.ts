import type { Context } from "moleculer";
import type { Message } from "../../contract/messages.ts";
import { outboxFields } from "../../lib/outbox.ts";
import { storedMessage, toEventMessage, toMessage, type MessageDraft } from "./documents.ts";
import { currentReplyRef } from "./replies.ts";
import type { MessagesState } from "./messages.service.ts";
import type { Sequenced } from "./sequencer.ts";

/**
 * A new entry of the conversation's log (a send, a system line): the next seq and version from the
 * Sequencer, its `message.created` recorded in the same write and broadcast under the conversation's lock,
 * so both go out in seq order. `message` is undefined for a retried send (nothing new was stored).
 */
export async function appendMessage(
	svc: Pick<MessagesState, "sequencer" | "outboxEvent" | "outboxEnabled" | "secret" | "db">,
	ctx: Context,
	draft: MessageDraft,
	onAnnounced: () => void = () => {}
): Promise<Sequenced & { message?: Message }> {
	const { groupId } = draft;
	let message: Message | undefined;
	const sequenced = await svc.sequencer.store(
		groupId,
		(seq, version) => {
			const stored = storedMessage(draft, seq, version);
			if (!svc.outboxEnabled) return stored;
			// Built under the group's lock, so event ids follow seq order.
			return { ...stored, ...outboxFields(svc.outboxEvent("message.created", groupId, { message: toEventMessage(stored) })) };
		},
		stored => {
			message = toMessage(stored, svc.secret);
			ctx.broadcast("message.created", { groupId, message });
			onAnnounced();
		},
		// An edit or delete of the original that ran since the send read it: the reply shows the original as it is now
		// (a later one finds the stored reply and refreshes it).
		draft.replyTo ? async () => void (draft.replyTo = await currentReplyRef(svc.db.messages, draft.replyTo!)) : undefined
	);
	return { ...sequenced, message };
}
