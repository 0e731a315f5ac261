import type { MentionAllPolicy } from "../../lib/config.ts";
import type { MembershipLocals } from "../../lib/session.ts";

/**
 * Mentions in a message's text: `@username` of a member, `@all` (every member) and `@here` (the members
 * online at that moment). Parsed on every send and edit; the send path is hot, so text without an `@`
 * costs one `includes` and nothing else.
 */

/** More distinct names than this in one message are not looked up (a message is not a mailing list). */
export const MAX_MENTIONED_NAMES = 50;

export interface MentionTokens {
	/** Lower-cased, distinct, in order of appearance; `all` and `here` are not among them. */
	usernames: string[];
	all: boolean;
	here: boolean;
}

export interface StoredMentions {
	mentions: string[];
	mentionsAll: boolean;
}

export const NO_MENTIONS: StoredMentions = { mentions: [], mentionsAll: false };

// A username (lib/params.ts USERNAME_PATTERN) after a start or a character that cannot be part of one (so
// "bob@example.com" mentions nobody), ending where a username cannot go on; a final dot is punctuation.
const MENTION = /(?<![\p{L}\p{N}_.@-])@([a-z0-9_.-]{3,32}|all|here)(?![a-z0-9_-])/giu;
// Code is quoted text: a name in it is written about, not called.
const CODE = /```[\s\S]*?```|`[^`\n]*`/g;

/** The mention tokens of `content`, or null when it has none (no `@` at all: no work). */
export function mentionTokens(content: string): MentionTokens | null {
	if (!content.includes("@")) return null;
	const text = content.includes("`") ? content.replace(CODE, " ") : content;
	const names = new Set<string>();
	let all = false;
	let here = false;
	for (const match of text.matchAll(MENTION)) {
		const name = match[1].toLowerCase().replace(/\.+$/, "");
		if (name === "all") all = true;
		else if (name === "here") here = true;
		else if (name.length >= 3 && names.size < MAX_MENTIONED_NAMES) names.add(name);
	}
	return names.size || all || here ? { usernames: [...names], all, here } : null;
}

/** Whether this member may notify everyone (`@all`, `@here`) under MENTION_ALL; direct conversations have no need of it. */
export function mayMentionAll(policy: MentionAllPolicy, membership: Pick<MembershipLocals, "role" | "groupType">): boolean {
	if (policy === "off") return false;
	if (membership.groupType === "direct") return policy === "everyone";
	return policy === "everyone" || membership.role !== "member";
}

/** What resolution needs to know about the conversation, looked up only for the tokens a message has. */
export interface MentionLookups {
	/** Ids of the users with these (lower-case) usernames; unknown names are left out. */
	userIdsByName(usernames: string[]): Promise<string[]>;
	memberIds(): Promise<string[]>;
	/** Of these members, those online now. */
	online(memberIds: string[]): Promise<string[]>;
}

/**
 * The stored mentions of a message: members named (never the sender), the members online for an allowed
 * `@here`, and `mentionsAll` for an allowed `@all`. Names of non-members and unknown names are ignored.
 */
export async function resolveMentions(tokens: MentionTokens | null, senderId: string, allowedAll: boolean, lookups: MentionLookups): Promise<StoredMentions> {
	if (!tokens) return NO_MENTIONS;
	const here = tokens.here && allowedAll;
	if (tokens.usernames.length === 0 && !here) return { mentions: [], mentionsAll: tokens.all && allowedAll };
	const [members, named] = await Promise.all([lookups.memberIds(), tokens.usernames.length ? lookups.userIdsByName(tokens.usernames) : []]);
	const isMember = new Set(members);
	const mentioned = new Set(named.filter(id => isMember.has(id)));
	if (here) for (const id of await lookups.online(members.filter(id => id !== senderId))) mentioned.add(id);
	mentioned.delete(senderId);
	return { mentions: [...mentioned], mentionsAll: tokens.all && allowedAll };
}
