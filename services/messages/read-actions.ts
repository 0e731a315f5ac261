import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type { MarkUnreadRequest, MessageReceipts, Receipt, ReadState, ReceiptMove, ReceiptRequest } from "../../contract/messages.ts";
import { notFound } from "../../lib/errors.ts";
import { idParam, params, seqParam } from "../../lib/params.ts";
import { entityOf, type MemberContext } from "../../lib/session.ts";
import { RECEIPT_EVENTS, type CursorField } from "./cursors.ts";
import type { MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { receiptListsOf, resolveSeq } from "./receipts.ts";
import { effectiveUnreadFrom, READ_STATE_EVENT, type ReadStateEvent } from "./unread.ts";

type MessagesThis = Service & MessagesState;

/** markDelivered and markSeen: the same receipt, on a different cursor. */
function receiptAction(field: CursorField): ActionSchema<MessagesThis> {
	return {
		auth: "required",
		conversation: { param: "groupId" },
		params: params({ groupId: idParam, seq: { ...seqParam, optional: true }, messageId: { ...idParam, optional: true } }),
		async handler(this: MessagesThis, ctx: MemberContext<ReceiptRequest>): Promise<ReceiptMove> {
			const me = ctx.meta.user;
			const { groupId } = ctx.params;
			const seq = await resolveSeq(this.db.messages, () => this.heads.lastSeq(groupId), groupId, ctx.params.seq, ctx.params.messageId);
			const moved = await this.cursors.advance(groupId, me.id, field, seq, true);
			// No cursor: not a member (any more), though a cached membership let the receipt in (cursors.ts).
			if (moved === null) throw notFound("Conversation");
			if (moved) ctx.broadcast(RECEIPT_EVENTS[field], { groupId, userId: me.id, seq });
			if (field === "readSeq" && (await this.unread.clearIfRead(groupId, me.id, seq))) {
				ctx.broadcast(READ_STATE_EVENT, { groupId, userId: me.id, readSeq: seq, unreadFrom: null } satisfies ReadStateEvent);
			}
			return { groupId, seq, moved };
		}
	};
}

/** "Mark as unread" from `seq` on: the caller's own marker (unread.ts); the read cursor others see does not move back. */
const markUnread: ActionSchema<MessagesThis> = {
	auth: "required",
	conversation: { param: "groupId" },
	params: params({ groupId: idParam, seq: { ...seqParam, min: 1 } }),
	async handler(ctx: MemberContext<MarkUnreadRequest>): Promise<ReadState> {
		const me = ctx.meta.user;
		const { groupId, seq } = ctx.params;
		await this.cursors.settleDeferred(groupId, me.id);
		await this.unread.markFrom(groupId, me.id, seq, await this.heads.lastSeq(groupId));
		const [head] = await this.heads.forViewer([groupId], me.id, this.secret);
		const state: ReadState = { groupId, readSeq: head.readSeq, unreadFrom: effectiveUnreadFrom(head.unreadFrom, head.readSeq) };
		ctx.broadcast(READ_STATE_EVENT, { ...state, userId: me.id } satisfies ReadStateEvent);
		return state;
	}
};

/**
 * `GET /api/messages/:id/receipts`. Ids are unique across collections, so `id` names either a message
 * (who has seen it, who has it delivered, who neither: MessageReceipts) or a conversation (every member's cursors).
 */
const receipts: ActionSchema<MessagesThis> = {
	auth: "required",
	readOnly: true,
	conversation: { entity: "receiptsSubjectOf", notFound: "Message or conversation" },
	params: params({ id: idParam }),
	async handler(ctx: MemberContext<{ id: string }>): Promise<MessageReceipts | { items: Receipt[] }> {
		const subject = entityOf<MessageDoc | { groupId: string }>(ctx);
		const receipts = await this.cursors.receiptsOf(subject.groupId);
		return "seq" in subject ? receiptListsOf(subject, receipts) : { items: receipts };
	}
};

/** Where each member has got to (cursors.ts, unread.ts): delivered, seen, marked unread, and who has seen what. Mixed into the messages service. */
export const MessagesReadActions: Partial<ServiceSchema<any, any, any>> = {
	actions: { markDelivered: receiptAction("deliveredSeq"), markSeen: receiptAction("readSeq"), markUnread, receipts },
	methods: {
		/** The entity of `receipts`: the message with this id, else the conversation it names. */
		async receiptsSubjectOf(this: MessagesThis, ctx: Context<{ id: string }>): Promise<MessageDoc | { groupId: string }> {
			return (await this.db.messages.findById(ctx.params.id)) ?? { groupId: ctx.params.id };
		}
	}
};
