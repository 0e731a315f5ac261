import type { Message, NotificationSettings } from '@scalable-chat/contract';
import { plainText } from '#lib/rich-text/markdown.ts';

/** The same rule the server's push policy applies (services/push/policy.ts), read on this device. */

export const EXCERPT_MAX = 140;

export function isMuted(settings: NotificationSettings, now = Date.now()): boolean {
	return settings.mutedUntil != null && Date.parse(settings.mutedUntil) > now;
}

/** Muted, or set to "nothing": shown dimmed, and its unread messages stay out of the title badge. */
export function isQuiet(settings: NotificationSettings, now = Date.now()): boolean {
	return settings.level === 'nothing' || isMuted(settings, now);
}

/** Whether this message should notify me: not mine, not a system line, and what my setting asks for. */
export function wantsNotification(
	settings: NotificationSettings,
	message: Pick<Message, 'senderId' | 'system' | 'mentions' | 'mentionsAll' | 'deletedAt'>,
	myUserId: string,
	now = Date.now()
): boolean {
	if (message.system || message.deletedAt || message.senderId === myUserId) return false;
	if (isQuiet(settings, now)) return false;
	if (settings.level === 'mentions') return message.mentionsAll || message.mentions.includes(myUserId);
	return true;
}

/** One line of the message for a notification, cut at a word; an attachment's name when there is no text. */
export function excerptOf(message: Pick<Message, 'content' | 'attachments'>): string {
	const text = plainText(message.content);
	if (!text) {
		const [first, ...more] = message.attachments;
		if (!first) return '';
		return more.length ? `📎 ${first.name} and ${more.length} more` : `📎 ${first.name}`;
	}
	if (text.length <= EXCERPT_MAX) return text;
	const cut = text.slice(0, EXCERPT_MAX);
	const space = cut.lastIndexOf(' ');
	return (space > EXCERPT_MAX * 0.6 ? cut.slice(0, space) : cut).trimEnd() + '…';
}

/** Notifications of one conversation replace each other (the push of the same message uses the same tag). */
export const tagOf = (groupId: string) => `conversation:${groupId}`;

/** The mute choices of the conversation menu: an end time from now, or "until I turn it back on". */
export const MUTE_CHOICES = [
	{ label: 'For 1 hour', hours: 1 },
	{ label: 'For 8 hours', hours: 8 },
	{ label: 'For 24 hours', hours: 24 },
	{ label: 'Until I turn it back on', hours: null }
] as const;

/** "Until I turn it back on" is a far-away time for the server (it takes up to 100 years). */
const FOREVER_YEARS = 99;

export function muteUntil(hours: number | null, now = Date.now()): string {
	if (hours == null) {
		const at = new Date(now);
		at.setUTCFullYear(at.getUTCFullYear() + FOREVER_YEARS);
		return at.toISOString();
	}
	return new Date(now + hours * 3600_000).toISOString();
}

/** How the menu describes a mute: "Muted until 14:30", "Muted until Tue 09:00", or "Muted". */
export function muteLabel(settings: NotificationSettings, now = Date.now()): string | null {
	if (!isMuted(settings, now)) return null;
	const until = Date.parse(settings.mutedUntil!);
	if (until - now > 365 * 86400_000) return 'Muted';
	const at = new Date(until);
	const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
	return until - now < 86400_000 && at.getDate() === new Date(now).getDate()
		? `Muted until ${time}`
		: `Muted until ${at.toLocaleDateString([], { weekday: 'short' })} ${time}`;
}
