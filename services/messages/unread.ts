import type { ReadState } from "../../contract/messages.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import { invalidField, notFound } from "../../lib/errors.ts";
import { cursorId, type CursorDoc } from "./documents.ts";

/** The broker event that tells the member's other devices their read state changed. */
export const READ_STATE_EVENT = "conversation.read-state";

/** A read state as the broker event carries it: whose, and what it is now. */
export interface ReadStateEvent extends ReadState {
	userId: string;
}

/**
 * "Mark as unread" (Slack's rule): the member's own marker moves back to `seq` while the read cursor,
 * which others see as receipts, stays where it is. The marker lives on the member's cursor document
 * and is cleared by the next read receipt that reaches the read cursor: the member has read through
 * everything they had marked unread again (reading to the end of the conversation always does).
 */
export class UnreadMarkers {
	private readonly cursors: Pick<Collection<CursorDoc>, "updateMany">;

	constructor(cursors: Pick<Collection<CursorDoc>, "updateMany">) {
		this.cursors = cursors;
	}

	/**
	 * `seq` must name a stored message (1..lastSeq). A member has a cursor (cursors.ts): none means not a
	 * member, whatever a cached membership said, and is 404 like every other non-member's request.
	 */
	async markFrom(groupId: string, userId: string, seq: number, lastSeq: number): Promise<void> {
		if (seq < 1 || seq > lastSeq) throw invalidField("seq", `The 'seq' field must name a message of this conversation (1 to ${lastSeq}).`, "numberMax");
		if ((await this.cursors.updateMany({ _id: cursorId(groupId, userId) }, { $set: { unreadFrom: seq } })) === 0) throw notFound("Conversation");
	}

	/** A read receipt at `seq` (already applied to the cursor); true when it cleared the marker. */
	async clearIfRead(groupId: string, userId: string, seq: number): Promise<boolean> {
		const query = { _id: cursorId(groupId, userId), unreadFrom: { $gt: 0 }, readSeq: { $lte: seq } };
		return (await this.cursors.updateMany(query, { $set: { unreadFrom: null } })) > 0;
	}
}

/** What the member sees of a marker: only one behind the read cursor means anything (beyond it, those messages are unread anyway). */
export function effectiveUnreadFrom(unreadFrom: number | null | undefined, readSeq: number): number | null {
	return unreadFrom != null && unreadFrom > 0 && unreadFrom <= readSeq ? unreadFrom : null;
}

/** Unread messages of a conversation: from the marker when there is one, else after the read cursor. */
export function unreadCountOf(lastSeq: number, readSeq: number, unreadFrom: number | null): number {
	return unreadFrom != null ? lastSeq - unreadFrom + 1 : Math.max(0, lastSeq - readSeq);
}
