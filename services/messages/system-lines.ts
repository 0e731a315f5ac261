import type { Context } from "moleculer";
import type { Message, SystemLine } from "../../contract/messages.ts";
import { conflict } from "../../lib/errors.ts";
import { appendMessage } from "./append.ts";
import type { MessageDoc, MessageDraft } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";

/**
 * System lines: a group change ("Alice added Bob", "Dan renamed the group") as an entry of the
 * conversation's log. It takes the next seq and version like a message, so history, gap-fill, sync and
 * the stream carry it in order with the messages; `senderId` is whoever made the change, `content` is "".
 * Users cannot edit, delete, react to or reply to one: it records what happened.
 */

export const SYSTEM_LINE_TYPES = ["members.added", "member.removed", "member.left", "group.renamed", "group.avatar", "role.changed"] as const;

/** The shape the groups service sends (an internal caller: checked for kind, the rest it builds itself). */
export const systemLineParam = { type: "object", props: { type: { type: "enum", values: SYSTEM_LINE_TYPES } } } as const;

/** 409 SYSTEM_MESSAGE: what users may do to their messages, nobody may do to a system line. */
export function assertUserMessage(doc: Pick<MessageDoc, "system">, refused: string): void {
	if (doc.system) throw conflict(`A system line cannot be ${refused}`, "SYSTEM_MESSAGE");
}

/**
 * Appends the line under the conversation's lock and announces it as `message.created`, like a send.
 * The actor has read it (as a sender has read their own message), except one who left: they have no cursor to move.
 */
export async function appendSystemLine(svc: MessagesState, ctx: Context, groupId: string, actorId: string, system: SystemLine): Promise<Message> {
	const draft: MessageDraft = { groupId, senderId: actorId, content: "", attachments: [], createdAt: new Date(), system };
	const { doc, message } = await appendMessage(svc, ctx, draft);
	svc.heads.deferAfterSend(doc, system.type !== "member.left");
	return message!;
}
