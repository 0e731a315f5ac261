import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import { idParam, params } from "../../lib/params.ts";
import type { MessagesState } from "./messages.service.ts";

export interface ConversationMessageStats {
	groupId: string;
	lastSeq: number;
	/** Messages created since midnight UTC, deleted ones included. */
	messagesToday: number;
}

const conversationStats: ActionSchema<Service & MessagesState> = {
	visibility: "public",
	auth: "operator",
	readOnly: true,
	params: params({ groupId: idParam }),
	async handler(ctx: Context<{ groupId: string }>): Promise<ConversationMessageStats> {
		const { groupId } = ctx.params;
		const midnight = new Date();
		midnight.setUTCHours(0, 0, 0, 0);
		const [lastSeq, messagesToday] = await Promise.all([this.heads.lastSeq(groupId), this.db.messages.count({ groupId, createdAt: { $gte: midnight } })]);
		return { groupId, lastSeq, messagesToday };
	}
};

/** Operator actions (repl-commands/) mixed into the messages service: a conversation's counters, read from the store. */
export const MessagesOpsActions: Partial<ServiceSchema<any, any, any>> = { actions: { conversationStats } };
