import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type { Message, StoredLinkPreview } from "../../contract/messages.ts";
import { conflict, forbidden } from "../../lib/errors.ts";
import { firstLink } from "../../lib/links.ts";
import { idParam, params } from "../../lib/params.ts";
import { entityOf, type MemberContext, type UserContext } from "../../lib/session.ts";
import type { MessageDoc } from "./documents.ts";
import { changeMessage, setChange, type MessageChange } from "./message-change.ts";
import type { MessagesState } from "./messages.service.ts";
import { viewsOf } from "./views.ts";

/**
 * A message's link preview (made by the link-previews service): claimed once per link, so that one
 * fetcher in the cluster fetches it; attached as a change of the message (next version, message.updated)
 * only while the message still links there and its author has not removed it; removed by its author.
 * An edit that changes the first link drops the preview in the edit itself (edits.ts).
 */

type MessagesThis = Service & MessagesState;

const MAX_URL = 2048;
const text = (max: number) => ({ type: "string", max, nullable: true }) as const;
const previewParam = {
	type: "object",
	strict: "remove",
	props: {
		url: { type: "string", max: MAX_URL },
		title: text(200),
		description: text(500),
		siteName: text(100),
		image: {
			type: "object",
			nullable: true,
			strict: "remove",
			props: {
				id: idParam,
				width: { type: "number", integer: true, nullable: true },
				height: { type: "number", integer: true, nullable: true },
				hasThumbnail: "boolean"
			}
		}
	}
} as const;

/** Whether the message as stored now wants the preview of `url`. */
export function wantsPreviewOf(doc: MessageDoc, url: string): boolean {
	return !doc.deletedAt && !doc.system && !doc.previewRemoved && doc.previewFor === url && firstLink(doc.content) === url;
}

function previewChange(
	preview: StoredLinkPreview | null,
	extra: Partial<MessageDoc> = {}
): (current: MessageDoc, version: number) => ReturnType<MessageChange> {
	return (current, version) => setChange(current, version, { preview, ...extra }, "message.updated");
}

/** Internal (link-previews): the first caller for a message's link gets to fetch it; the others, and later events, do not. */
const claimPreview: ActionSchema<MessagesThis> = {
	visibility: "public",
	params: params({ id: idParam, url: { type: "string", max: MAX_URL } }),
	async handler(ctx: Context<{ id: string; url: string }>): Promise<{ claimed: boolean }> {
		const { id, url } = ctx.params;
		const claimed = await this.db.messages.updateMany(
			{ _id: id, deletedAt: null, previewFor: { $ne: url } },
			{ $set: { previewFor: url, previewRemoved: false } }
		);
		return { claimed: claimed > 0 };
	}
};

/** Internal (link-previews): the preview of `url`, kept only if the message still wants it (an edit or a removal meanwhile wins). */
const attachPreview: ActionSchema<MessagesThis> = {
	visibility: "public",
	params: params({ id: idParam, preview: previewParam }),
	async handler(ctx: Context<{ id: string; preview: StoredLinkPreview }>): Promise<{ attached: boolean }> {
		const { preview } = ctx.params;
		const found = await this.db.messages.findById(ctx.params.id);
		if (!found || !wantsPreviewOf(found, preview.url)) return { attached: false };
		let attached = false;
		const keep = previewChange(preview);
		await changeMessage(
			this,
			ctx as UserContext<unknown>,
			found,
			(current, version) => {
				if (!wantsPreviewOf(current, preview.url)) return null;
				attached = true;
				return keep(current, version);
			},
			found.senderId
		);
		return { attached };
	}
};

/** `DELETE /api/messages/:id/preview`: the author takes the preview off; the same link is not previewed again. */
const removePreview: ActionSchema<MessagesThis> = {
	auth: "required",
	conversation: { entity: "messageOf", notFound: "Message" },
	params: params({ id: idParam }),
	async handler(ctx: MemberContext<{ id: string }>): Promise<Message> {
		const found = entityOf<MessageDoc>(ctx);
		if (found.senderId !== ctx.meta.user.id) throw forbidden("Only the author can remove this message's preview");
		if (found.deletedAt) throw conflict("A deleted message has no preview", "MESSAGE_DELETED");
		const doc = await changeMessage(this, ctx, found, (current, version) => {
			const link = firstLink(current.content);
			if (current.deletedAt || (!current.preview && (!link || (current.previewRemoved && current.previewFor === link)))) return null;
			return previewChange(null, { previewRemoved: true, ...(link ? { previewFor: link } : {}) })(current, version);
		});
		return (await viewsOf(this, [doc], doc.groupId))[0];
	}
};

/** Mixed into the messages service. */
export const MessagesPreviewActions: Partial<ServiceSchema<any, any, any>> = { actions: { claimPreview, attachPreview, removePreview } };
