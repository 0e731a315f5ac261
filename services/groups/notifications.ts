import type { GroupType, NotificationLevel, NotificationSettings } from "../../contract/groups.ts";
import { invalidField } from "../../lib/errors.ts";

/** A member's notification setting as stored on their membership; absent: the default. */
export interface StoredNotifications {
	level: NotificationLevel;
	mutedUntil: Date | null;
}

export const NOTIFICATION_LEVELS: readonly NotificationLevel[] = ["all", "mentions", "nothing"];

/** Groups and direct conversations alike notify for every message until the member says otherwise. */
export const DEFAULT_NOTIFICATIONS: NotificationSettings = { level: "all", mutedUntil: null };

/** The farthest a mute may reach: "until I turn it back on" is a time far enough away, not a second flag. */
const MAX_MUTE_MS = 100 * 365 * 86400_000;

/** What clients see: a mute whose time has passed is no mute. */
export function toNotificationSettings(stored: StoredNotifications | undefined, now = Date.now()): NotificationSettings {
	if (!stored) return DEFAULT_NOTIFICATIONS;
	const until = stored.mutedUntil ? new Date(stored.mutedUntil).getTime() : null;
	return { level: stored.level, mutedUntil: until != null && until > now ? new Date(until).toISOString() : null };
}

/** The request's `mutedUntil` as stored: an ISO time in the past clears the mute (null), so does null or nothing. */
export function parseMutedUntil(value: string | null | undefined, now = Date.now()): Date | null {
	if (value == null) return null;
	// An ISO 8601 date and time with an offset: a bare date or a local time would mean different instants per server.
	const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
	const at = valid ? Date.parse(value) : NaN;
	if (Number.isNaN(at)) throw invalidField("mutedUntil", "The 'mutedUntil' field must be an ISO 8601 time with a time zone, or null.", "date");
	if (at - now > MAX_MUTE_MS) throw invalidField("mutedUntil", "The 'mutedUntil' field must be within 100 years.", "dateMax");
	return at > now ? new Date(at) : null;
}

/** `groups.notificationTargets`: the conversation and each member's setting, mutes as stored (the reader compares with its clock). */
export interface NotificationTargets {
	groupId: string;
	type: GroupType;
	name: string;
	members: ({ userId: string } & NotificationSettings)[];
}
