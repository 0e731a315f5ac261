import type { NotificationSettings } from "../../contract/groups.ts";
import type { EventMessage } from "../../contract/messages.ts";
import type { PushNotification } from "../../contract/push.ts";
import type { NotificationTargets } from "../groups/notifications.ts";

/** What the policy reads of a new message. */
export type NotifiedMessage = Pick<EventMessage, "id" | "groupId" | "seq" | "senderId" | "content" | "mentions" | "mentionsAll" | "system"> & {
	attachments: { name: string }[];
};

export const EXCERPT_MAX = 140;

/** A member's mute is on while its time is ahead. */
export function isMuted(settings: Pick<NotificationSettings, "mutedUntil">, now: number): boolean {
	return settings.mutedUntil != null && Date.parse(settings.mutedUntil) > now;
}

/** Whether this member wants to hear of this message at all (on any channel): the rule every device applies too. */
export function wantsNotification(member: { userId: string } & NotificationSettings, message: NotifiedMessage, now: number): boolean {
	if (message.system || member.userId === message.senderId) return false;
	if (member.level === "nothing" || isMuted(member, now)) return false;
	if (member.level === "mentions") return message.mentionsAll || message.mentions.includes(member.userId);
	return true;
}

/**
 * Who gets a push for this message: the members who want to hear of it, less those active on another device
 * (`activeUserIds`: a visible app open now shows the message itself).
 */
export function pushRecipients(message: NotifiedMessage, targets: NotificationTargets, activeUserIds: Iterable<string>, now: number): string[] {
	const active = new Set(activeUserIds);
	return targets.members.filter(m => !active.has(m.userId) && wantsNotification(m, message, now)).map(m => m.userId);
}

/** A message's words without the markdown markers the web app renders (code fences, quotes, list bullets, emphasis, code spans). */
export function withoutMarkdown(content: string): string {
	return content
		.replace(/^\s*```.*$/gm, "")
		.replace(/^\s{0,3}(?:>\s?|[-*+]\s+|\d+[.)]\s+)/gm, "")
		.replace(/(\*\*|__|~~)(?=\S)([\s\S]*?\S)\1/g, "$2")
		.replace(/(^|[^\w*])[*_](?=[^\s*_])([^*_\n]*?[^\s*_])[*_](?![\w*])/g, "$1$2")
		.replace(/`([^`\n]+)`/g, "$1");
}

/** One line of the message without markdown markers: whitespace collapsed, cut at a word near EXCERPT_MAX; an attachment's name when there is no text. */
export function excerptOf(message: Pick<NotifiedMessage, "content" | "attachments">): string {
	const text = withoutMarkdown(message.content).replace(/\s+/g, " ").trim();
	if (!text) {
		const [first, ...more] = message.attachments;
		if (!first) return "";
		return more.length ? `📎 ${first.name} and ${more.length} more` : `📎 ${first.name}`;
	}
	if (text.length <= EXCERPT_MAX) return text;
	const cut = text.slice(0, EXCERPT_MAX);
	const space = cut.lastIndexOf(" ");
	return (space > EXCERPT_MAX * 0.6 ? cut.slice(0, space) : cut).trimEnd() + "…";
}

/** The notification of one message: "Alice in Design" for a group, "Alice" in a direct conversation; one tag per conversation. */
export function notificationOf(message: NotifiedMessage, targets: Pick<NotificationTargets, "type" | "name">, senderName: string): PushNotification {
	return {
		groupId: message.groupId,
		seq: message.seq,
		messageId: message.id,
		title: targets.type === "group" ? `${senderName} in ${targets.name}` : senderName,
		body: excerptOf(message),
		tag: `conversation:${message.groupId}`
	};
}
