/**
 * How long the text people type may be, in characters as people count them: code points, so an emoji
 * counts once (HTML's `maxlength` counts UTF-16 units, two for most emoji). The server holds text to these
 * after cleaning it (NFC, trimmed); the web client counts the same way to say so before sending.
 */
export const TEXT_LIMITS = {
	groupName: 100,
	displayName: 64,
	statusText: 140,
	messageContent: 4000
} as const;

export type TextLimitField = keyof typeof TEXT_LIMITS;

/** Characters as the limits count them: code points. */
export function characterCount(text: string): number {
	let count = 0;
	for (const _ of text) count++;
	return count;
}
