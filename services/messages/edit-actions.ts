import type { ActionSchema, Service, ServiceSchema } from "moleculer";
import type { EditHistory, Message } from "../../contract/messages.ts";
import { forbidden } from "../../lib/errors.ts";
import { contentParam, idParam, params } from "../../lib/params.ts";
import { entityOf, membershipOf, type MemberContext } from "../../lib/session.ts";
import { checkedContent, MAX_CONTENT } from "./content.ts";
import type { MessageDoc } from "./documents.ts";
import { assertEditable, edited, editUpdate, historyOf } from "./edits.ts";
import { changeMessage, setChange } from "./message-change.ts";
import { editedMentions, mentionsOf } from "./message-mentions.ts";
import type { MessagesState } from "./messages.service.ts";
import { dropReactions } from "./reaction-change.ts";
import { assertUserMessage } from "./system-lines.ts";
import { viewsOf } from "./views.ts";

type MessagesThis = Service & MessagesState;

/** The author, or an owner/admin of the conversation, turns a message into a tombstone that keeps its seq. */
const deleteMessage: ActionSchema<MessagesThis> = {
	auth: "required",
	conversation: { entity: "messageOf", notFound: "Message" },
	params: params({ id: idParam }),
	async handler(ctx: MemberContext<{ id: string }>): Promise<Message> {
		const me = ctx.meta.user;
		const found = entityOf<MessageDoc>(ctx);
		assertUserMessage(found, "deleted");
		if (found.senderId !== me.id && membershipOf(ctx).role === "member") throw forbidden("Only the author or a group admin can delete this message");
		const deletedAt = new Date();
		const doc = await changeMessage(this, ctx, found, (current, version) => {
			if (current.deletedAt) return null;
			// A reply's excerpt is another message's text: the tombstone keeps which message it answered, not what that said.
			const replyTo = current.replyTo ? { replyTo: { ...current.replyTo, excerpt: null } } : {};
			return setChange(current, version, { deletedAt, deletedBy: me.id, content: "", attachments: [], edits: [], ...replyTo }, "message.deleted");
		});
		if (found.attachments?.length && doc.deletedAt && !found.deletedAt) await ctx.call("assets.hide", { ids: found.attachments.map(a => a.id) });
		if (doc.deletedAt) await dropReactions(this, doc._id);
		return (await viewsOf(this, [doc], doc.groupId, me.id))[0];
	}
};

/** The author replaces the text; the message keeps its seq and gets a new version, its earlier text joins its history. */
const edit: ActionSchema<MessagesThis> = {
	auth: "required",
	rateLimit: { bucket: "send" },
	conversation: { entity: "messageOf", notFound: "Message" },
	params: params({ id: idParam, content: contentParam(5 * MAX_CONTENT, MAX_CONTENT) }),
	async handler(ctx: MemberContext<{ id: string; content: string }>): Promise<Message> {
		const me = ctx.meta.user;
		const found = entityOf<MessageDoc>(ctx);
		const now = new Date();
		assertEditable(found, me.id, { windowSeconds: this.editWindowSeconds }, now);
		const content = checkedContent(ctx.params.content, found.attachments?.length ?? 0);
		// Resolved before the lock (they take calls); the new text's mentions replace the old text's.
		const mentions = editedMentions(found.groupId, await mentionsOf(ctx, found.groupId, content, this.mentionAll));
		const doc = await changeMessage(this, ctx, found, (current, version) => {
			// Checked again on the message as it is now: a delete may have come first.
			assertEditable(current, me.id, { windowSeconds: this.editWindowSeconds }, now);
			if (current.content === content) return null;
			const update = editUpdate(current, content, version, now, mentions);
			return {
				next: edited(current, content, version, now, mentions),
				write: outbox => ({ ...update, ...outbox, $push: { ...update.$push, ...(outbox.$push as object) } }),
				event: "message.updated"
			};
		});
		return (await viewsOf(this, [doc], doc.groupId, me.id))[0];
	}
};

/** A message's earlier texts, oldest first (none once it is deleted). */
const editHistory: ActionSchema<MessagesThis> = {
	auth: "required",
	readOnly: true,
	conversation: { entity: "messageOf", notFound: "Message" },
	params: params({ id: idParam }),
	handler(ctx: MemberContext<{ id: string }>): EditHistory {
		return historyOf(entityOf<MessageDoc>(ctx));
	}
};

/** A message's later life, by its author or a conversation admin: delete, edit, and the history of edits. Mixed into the messages service. */
export const MessagesEditActions: Partial<ServiceSchema<any, any, any>> = { actions: { delete: deleteMessage, edit, editHistory } };
