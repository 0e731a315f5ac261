import type { EditHistory } from "../../contract/messages.ts";
import { conflict, forbidden } from "../../lib/errors.ts";
import { firstLink } from "../../lib/links.ts";
import { versionFields, type MessageDoc } from "./documents.ts";
import { assertUserMessage } from "./system-lines.ts";

/**
 * Editing a message's text: only its author, only while it exists, optionally only within
 * MESSAGE_EDIT_WINDOW of sending. Each earlier text is kept (with the time it was written) for members
 * to read, bounded per message so that one message cannot grow without end; a delete clears them.
 */

export const MAX_EDITS = 100;

/** The new text's mentions (message-mentions.ts editedMentions). */
export type EditedMentions = Partial<Pick<MessageDoc, "mentions" | "mentionsAll" | "mentionKeys">>;

export interface EditRules {
	/** Seconds after sending; undefined: no limit. */
	windowSeconds: number | undefined;
}

/** 409 SYSTEM_MESSAGE for a system line, 403 for others' messages, 409 MESSAGE_DELETED, EDIT_WINDOW_CLOSED or EDIT_LIMIT_REACHED. */
export function assertEditable(doc: MessageDoc, userId: string, rules: EditRules, now: Date): void {
	assertUserMessage(doc, "edited");
	if (doc.senderId !== userId) throw forbidden("Only the author can edit this message");
	if (doc.deletedAt) throw conflict("A deleted message cannot be edited", "MESSAGE_DELETED");
	if (rules.windowSeconds != null && now.getTime() - new Date(doc.createdAt).getTime() > rules.windowSeconds * 1000) {
		throw conflict(`Messages can only be edited within ${rules.windowSeconds} seconds of sending`, "EDIT_WINDOW_CLOSED", {
			windowSeconds: rules.windowSeconds
		});
	}
	if ((doc.edits?.length ?? 0) >= MAX_EDITS) throw conflict(`A message can be edited at most ${MAX_EDITS} times`, "EDIT_LIMIT_REACHED");
}

/** The stored change: the new text, its mentions and version; the text it replaces joins the history. */
export function editUpdate(doc: MessageDoc, content: string, version: number, now: Date, mentions: EditedMentions = {}) {
	const previous = { content: doc.content, editedAt: doc.editedAt ?? doc.createdAt };
	// A preview belongs to the first link: a text that links elsewhere (or nowhere) loses it in the same change.
	const previewGone = doc.preview && firstLink(content) !== doc.preview.url ? { preview: null } : {};
	return {
		$set: { content, editedAt: now, ...versionFields(doc.groupId, version), ...previewGone, ...mentions },
		$push: { edits: previous }
	};
}

/** What the message applies to itself, for the event and the answer built from the same write. */
export function edited(doc: MessageDoc, content: string, version: number, now: Date, mentions: EditedMentions = {}): MessageDoc {
	const update = editUpdate(doc, content, version, now, mentions);
	return { ...doc, ...update.$set, edits: [...(doc.edits ?? []), update.$push.edits] };
}

export function historyOf(doc: MessageDoc): EditHistory {
	if (doc.deletedAt) return { items: [] };
	return { items: (doc.edits ?? []).map(e => ({ content: e.content, editedAt: new Date(e.editedAt).toISOString() })) };
}
