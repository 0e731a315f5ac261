/** One conversation as the quick switcher lists it. */
export interface SwitcherEntry {
	id: string;
	title: string;
}

/** Lowercase, accents off: "Zoë" is found by "zoe". */
const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** How well `title` matches `query` (lower is better), or null: prefix, word start, anywhere, letters in order. */
function rank(title: string, query: string): number | null {
	if (title.startsWith(query)) return 0;
	const at = title.indexOf(query);
	if (at > 0 && /[\s\-_.,·]/.test(title[at - 1])) return 1;
	if (at > 0) return 2;
	let i = 0;
	for (const ch of title) if (ch === query[i]) i++;
	return i === query.length ? 3 : null;
}

/**
 * The conversations to offer for what was typed, best first; within one rank they keep the order they
 * came in (most recent activity first), so an empty query lists the latest conversations.
 */
export function filterConversations<T extends SwitcherEntry>(entries: T[], query: string, limit = 12): T[] {
	const q = fold(query.trim());
	if (!q) return entries.slice(0, limit);
	return entries
		.map((entry, index) => ({ entry, index, score: rank(fold(entry.title), q) }))
		.filter((r): r is { entry: T; index: number; score: number } => r.score !== null)
		.sort((a, b) => a.score - b.score || a.index - b.index)
		.slice(0, limit)
		.map(r => r.entry);
}

/** The highlighted row after an arrow key, wrapping around. */
export function moveSelection(current: number, count: number, key: 'ArrowUp' | 'ArrowDown'): number {
	if (count === 0) return 0;
	return (current + (key === 'ArrowDown' ? 1 : count - 1)) % count;
}
