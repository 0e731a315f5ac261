import type { UserContext } from "../../lib/session.ts";
import { outboxUpdate } from "../../lib/outbox.ts";
import { toEventMessage, versionFields, type MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { refreshedReply, staleReplies } from "./replies.ts";
import type { Stamp } from "./sequencer.ts";
import { viewsOf } from "./views.ts";

/**
 * An edit or a delete, run under the conversation's lock on the message as stored then, at `version`: the
 * message changed, its write (with the outbox operators given) and its event; null when nothing changes.
 */
export type MessageChange = (
	doc: MessageDoc,
	version: number
) => { next: MessageDoc; write: (outbox: Record<string, unknown>) => Record<string, unknown>; event: "message.updated" | "message.deleted" } | null;

/** A change that only sets fields (with the version it takes): the message applies the same `$set` it writes. */
export function setChange(
	current: MessageDoc,
	version: number,
	fields: Partial<MessageDoc>,
	event: "message.updated" | "message.deleted"
): ReturnType<MessageChange> {
	const $set = { ...fields, ...versionFields(current.groupId, version) };
	return { next: { ...current, ...$set }, write: outbox => ({ $set, ...outbox }), event };
}

/**
 * Edits and deletes go through the conversation's lock on the node they reach (looked up by message id,
 * they cannot be sharded by conversation before the lookup): there they queue behind the sends and changes
 * of the conversation, and the unique groupVersion key settles the rare race with the owner node
 * (the loser re-reads the counter). Everything announced under the lock goes out in version order.
 */
export async function changeMessage(
	svc: MessagesState,
	ctx: UserContext<unknown>,
	found: MessageDoc,
	change: MessageChange,
	/** Who the events name: the caller unless a service changes the message itself (a link preview: its author). */
	actorId: string = ctx.meta.user.id
): Promise<MessageDoc> {
	const { groupId } = found;
	return svc.sequencer.change(groupId, async (stamp: Stamp) => {
		const current = await svc.db.messages.findById(found._id);
		if (!current) return found;
		let event: "message.updated" | "message.deleted" = "message.updated";
		const changed = await stamp(async version => {
			const planned = change(current, version);
			if (!planned) return null;
			const outbox = outboxUpdate(svc.outboxEvent(planned.event, groupId, { message: toEventMessage(planned.next), actorId }));
			event = planned.event;
			return (await svc.db.messages.updateById(current._id, planned.write(outbox)))!;
		});
		if (!changed) return current;
		const announced: [string, MessageDoc][] = [[event, changed]];
		for (const reply of await staleReplies(svc.db.messages, changed)) {
			const refreshed = await stamp(async version => {
				const next = refreshedReply(reply, changed, version);
				const outbox = outboxUpdate(svc.outboxEvent("message.updated", groupId, { message: toEventMessage(next), actorId }));
				const $set = { replyTo: next.replyTo, version, groupVersion: next.groupVersion };
				return (await svc.db.messages.updateById(reply._id, { $set, ...outbox }))!;
			});
			announced.push(["message.updated", refreshed!]);
		}
		const views = await viewsOf(
			svc,
			announced.map(([, doc]) => doc),
			groupId
		);
		announced.forEach(([name], i) => ctx.broadcast(name, { groupId, message: views[i], actorId }));
		return changed;
	});
}
