import type { ActionSchema, Service, ServiceSchema } from "moleculer";
import type { ReactionsEvent } from "../../contract/messages.ts";
import { idParam, params } from "../../lib/params.ts";
import { entityOf, type MemberContext } from "../../lib/session.ts";
import type { MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { toggleReaction } from "./reaction-change.ts";
import { checkedEmoji } from "./reactions.ts";
import { assertUserMessage } from "./system-lines.ts";

type MessagesThis = Service & MessagesState;

/** addReaction and removeReaction: the same toggle, in one direction each (REST has a verb for each; the socket says `on`). */
function reactionAction(on: boolean): ActionSchema<MessagesThis> {
	return {
		auth: "required",
		rateLimit: { bucket: "react" },
		conversation: { entity: "messageOf", notFound: "Message" },
		params: params({ id: idParam, emoji: { type: "string", max: 200 } }),
		handler(this: MessagesThis, ctx: MemberContext<{ id: string; emoji: string }>): Promise<ReactionsEvent> {
			const emoji = checkedEmoji(ctx.params.emoji);
			assertUserMessage(entityOf<MessageDoc>(ctx), "reacted to");
			return toggleReaction(this, ctx, entityOf<MessageDoc>(ctx), { emoji, on, limit: this.reactionLimit });
		}
	};
}

/** Reactions to a message (reaction-change.ts), up to MESSAGE_REACTION_LIMIT kinds. Mixed into the messages service. */
export const MessagesReactionActions: Partial<ServiceSchema<any, any, any>> = {
	actions: { addReaction: reactionAction(true), removeReaction: reactionAction(false) }
};
