import type { SearchHighlight } from "../../contract/search.ts";
import { wordsOf } from "./terms.ts";

/** A message up to this long is shown whole; a longer one as fragments around its matches. */
const WHOLE_UP_TO = 300;
const FRAGMENT_LENGTH = 160;
/** How much text a fragment keeps before its first match. */
const LEAD = 50;
const MAX_FRAGMENTS = 3;
const ELLIPSIS = "…";

/**
 * The fragments of `content` to show for a hit, with the words `matches` accepts marked as ranges (never
 * markup: the text stays plain). Always at least one fragment, even when no word is marked.
 */
export function highlightsOf(content: string, matches: (term: string) => boolean): SearchHighlight[] {
	const marked = wordsOf(content).filter(w => matches(w.term));
	if (content.length <= WHOLE_UP_TO) return [{ text: content, ranges: marked.map(w => [w.start, w.end]) }];
	const fragments: SearchHighlight[] = [];
	let next = 0;
	while (fragments.length < MAX_FRAGMENTS && (fragments.length === 0 || next < marked.length)) {
		const first = marked[next];
		const start = first ? wordStart(content, Math.max(0, first.start - LEAD)) : 0;
		const end = wordEnd(content, Math.min(content.length, start + FRAGMENT_LENGTH), first?.end ?? 0);
		const prefix = start > 0 ? ELLIPSIS : "";
		const ranges: [number, number][] = [];
		while (next < marked.length && marked[next].end <= end) {
			const w = marked[next++];
			if (w.start >= start) ranges.push([w.start - start + prefix.length, w.end - start + prefix.length]);
		}
		fragments.push({ text: prefix + content.slice(start, end).trimEnd() + (end < content.length ? ELLIPSIS : ""), ranges });
		if (!first) break;
	}
	return fragments;
}

/** Moves a cut forward to the start of a word, unless that would skip too much. */
function wordStart(text: string, at: number): number {
	if (at === 0) return 0;
	const space = text.slice(at, at + 20).search(/\s/);
	return space === -1 ? at : at + space + 1;
}

/** Moves a cut back to the end of a word, but never before `atLeast`. */
function wordEnd(text: string, at: number, atLeast: number): number {
	if (at >= text.length) return text.length;
	const space = text.slice(Math.max(atLeast, at - 20), at).search(/\s\S*$/);
	return space === -1 ? at : Math.max(atLeast, at - 20) + space;
}
