/**
 * What a word is, the same for the index, the query and the highlighter: a run of letters, digits and
 * combining marks; compared without case and without diacritics ("Café" and "cafe" are one term).
 */

const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/** At most this many words of a query count; the rest are ignored. */
export const MAX_QUERY_TERMS = 10;

export interface Word {
	term: string;
	start: number;
	end: number;
}

export function normalizeTerm(word: string): string {
	return word
		.normalize("NFD")
		.replace(/\p{M}+/gu, "")
		.toLowerCase();
}

/** The words of a text with their positions. */
export function wordsOf(text: string): Word[] {
	const words: Word[] = [];
	for (const match of text.matchAll(WORD)) {
		const term = normalizeTerm(match[0]);
		if (term) words.push({ term, start: match.index, end: match.index + match[0].length });
	}
	return words;
}

const ASCII = /^\p{ASCII}*$/u;
const ASCII_WORD = /[a-z0-9]+/g;

/** The terms of a text, for the index. */
export function termsOf(text: string): string[] {
	// In ASCII a word's letters and digits are [A-Za-z0-9], with no marks to strip: the same terms, without a normalisation per word.
	if (ASCII.test(text)) return text.toLowerCase().match(ASCII_WORD) ?? [];
	return wordsOf(text).map(w => w.term);
}

/** The distinct terms of a query, in the order typed. */
export function queryTerms(q: string): string[] {
	return [...new Set(termsOf(q))].slice(0, MAX_QUERY_TERMS);
}
