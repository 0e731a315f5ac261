/**
 * The first web link of a message's text: what its link preview is of. Links inside code (`…` and fenced
 * blocks) are code, not links, as the web app renders them. Trailing punctuation that ends a sentence is not
 * part of the link, and a closing parenthesis only when the link opened none ("(see https://x.org/a)").
 */

const CODE = /```[\s\S]*?(?:```|$)|`[^`\n]*`/g;
const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'"*_~\]]+$/;
const SCHEME = /https?:\/\//i;

function trimmed(candidate: string): string {
	let link = candidate.replace(TRAILING, "");
	while (link.endsWith(")") && count(link, "(") < count(link, ")")) link = link.slice(0, -1).replace(TRAILING, "");
	return link;
}

const count = (text: string, char: string) => text.split(char).length - 1;

/** The first http(s) URL of `text`, normalised by the URL parser; null when there is none. */
export function firstLink(text: string): string | null {
	// Most messages have no link: one scan for the scheme instead of the code-stripping copy of the text.
	if (!SCHEME.test(text)) return null;
	const prose = text.replace(CODE, " ");
	for (const match of prose.matchAll(LINK)) {
		const link = trimmed(match[0]);
		if (!URL.canParse(link)) continue;
		const url = new URL(link);
		if (url.hostname) return url.href;
	}
	return null;
}
