/** Human-readable file size. */
export function formatBytes(bytes: number): string {
	if (!Number.isFinite(bytes) || bytes < 0) return '';
	if (bytes < 1024) return `${bytes} B`;
	const units = ['KB', 'MB', 'GB'];
	let value = bytes / 1024;
	let unit = 0;
	while (value >= 1024 && unit < units.length - 1) {
		value /= 1024;
		unit++;
	}
	return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatTime(date: Date | string): string {
	return new Date(date).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

function startOfDay(date: Date): number {
	return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** "Today", "Yesterday", a weekday within a week, else a date. */
export function formatDay(date: Date, now = new Date()): string {
	const days = Math.round((startOfDay(now) - startOfDay(date)) / 86_400_000);
	if (days === 0) return 'Today';
	if (days === 1) return 'Yesterday';
	if (days > 1 && days < 7) return date.toLocaleDateString(undefined, { weekday: 'long' });
	return date.toLocaleDateString(undefined, {
		day: 'numeric',
		month: 'long',
		year: date.getFullYear() === now.getFullYear() ? undefined : 'numeric'
	});
}

/** Compact timestamp for the conversation list. */
export function formatListTime(date: Date | string, now = new Date()): string {
	const d = new Date(date);
	const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
	if (days === 0) return formatTime(d);
	if (days === 1) return 'Yesterday';
	if (days < 7) return d.toLocaleDateString(undefined, { weekday: 'short' });
	return d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' });
}

/** "Alice is typing…", "Alice and Bob are typing…", "3 people are typing…" */
export function typingText(names: string[]): string {
	if (names.length === 0) return '';
	if (names.length === 1) return `${names[0]} is typing…`;
	if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
	return `${names.length} people are typing…`;
}

// Whole user-perceived characters: an emoji, a flag or a letter with its accent is one, never half of one.
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]/u;
const EMOJI = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;

/** Upper case, unless that turns one character into two ("ß" → "SS"). */
function capital(grapheme: string): string {
	const upper = grapheme.toLocaleUpperCase();
	return [...graphemes.segment(upper)].length === 1 ? upper : grapheme;
}

/** What a word starts with, past punctuation ("#general", "(Work)"): a letter or digit, an emoji, or nothing. */
function wordStart(word: string): { mark: string; emoji: boolean } | null {
	for (const { segment } of graphemes.segment(word)) {
		if (LETTER_OR_DIGIT.test(segment)) return { mark: capital(segment), emoji: false };
		if (EMOJI.test(segment)) return { mark: segment, emoji: true };
	}
	return null;
}

/**
 * An avatar's initials: the first letters (or digits) of the first two words ("Alice Liddell" → "AL",
 * "Group 5" → "G5", "bob" → "B"), at most two characters; a name that starts with an emoji shows the emoji.
 */
export function initials(name: string): string {
	const starts = name
		.split(/[\s_.]+/u)
		.map(wordStart)
		.filter(start => start !== null);
	if (starts[0]?.emoji) return starts[0].mark;
	const letters = starts.filter(start => !start.emoji).slice(0, 2);
	return letters.length ? letters.map(start => start.mark).join('') : '?';
}

/** "last seen just now", "… 5 minutes ago", "… today at 14:05", "… yesterday at 09:10", "… on 3 March". */
export function formatLastSeen(date: Date | string, now = new Date()): string {
	const d = new Date(date);
	const minutes = Math.floor((now.getTime() - d.getTime()) / 60_000);
	if (minutes < 1) return 'last seen just now';
	if (minutes < 60) return `last seen ${minutes} minute${minutes === 1 ? '' : 's'} ago`;
	const days = Math.round((startOfDay(now) - startOfDay(d)) / 86_400_000);
	if (days === 0) return `last seen today at ${formatTime(d)}`;
	if (days === 1) return `last seen yesterday at ${formatTime(d)}`;
	return `last seen on ${d.toLocaleDateString(undefined, {
		day: 'numeric',
		month: 'long',
		year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric'
	})}`;
}
