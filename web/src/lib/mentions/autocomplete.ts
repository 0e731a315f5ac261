/** An `@word` being typed: where its `@` is and what follows it up to the caret. */
export interface MentionQuery {
	start: number;
	query: string;
}

export interface MentionCandidate {
	/** Null for `@all` / `@here`. */
	userId: string | null;
	username: string;
	displayName: string;
}

/** The characters of a username (the server's rule: a-z, 0-9, _ . -). */
const USERNAME_CHAR = /[a-z0-9_.-]/i;
const MAX_QUERY = 32;

/** The mention being typed at the caret, if any: an `@` at the start or after a space, then username characters. */
export function mentionQueryAt(text: string, caret: number): MentionQuery | null {
	let i = caret;
	while (i > 0 && caret - i <= MAX_QUERY && USERNAME_CHAR.test(text[i - 1])) i--;
	if (i === 0 || text[i - 1] !== '@' || caret - i > MAX_QUERY) return null;
	const start = i - 1;
	if (start > 0 && !/[\s([{"'«]/.test(text[start - 1])) return null;
	return { start, query: text.slice(i, caret) };
}

/**
 * Candidates for a query: usernames, then words of display names, that start with it (case-insensitive),
 * in that order and alphabetical within; an empty query lists everyone.
 */
export function matchMentions(query: string, candidates: MentionCandidate[], limit = 8): MentionCandidate[] {
	const q = query.toLowerCase();
	const rank = (c: MentionCandidate): number => {
		if (c.username.toLowerCase().startsWith(q)) return 0;
		if (
			c.displayName
				.toLowerCase()
				.split(/\s+/)
				.some(word => word.startsWith(q))
		)
			return 1;
		return -1;
	};
	return candidates
		.map(c => ({ c, r: rank(c) }))
		.filter(x => x.r >= 0)
		.sort((a, b) => a.r - b.r || a.c.displayName.localeCompare(b.c.displayName))
		.slice(0, limit)
		.map(x => x.c);
}

/** The text with the mention being typed replaced by `@username `, and where the caret goes. */
export function insertMention(
	text: string,
	at: MentionQuery,
	caret: number,
	username: string
): { text: string; caret: number } {
	const inserted = `@${username} `;
	const rest = text.slice(caret).replace(/^\s/, '');
	return { text: text.slice(0, at.start) + inserted + rest, caret: at.start + inserted.length };
}
