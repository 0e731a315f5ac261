import type { SearchHighlight } from '@scalable-chat/contract';

export interface Segment {
	text: string;
	marked: boolean;
}

/**
 * A fragment as plain-text pieces, the matched ones marked: rendered as text nodes (and `<mark>`), never as
 * HTML. Ranges out of order, overlapping or out of bounds are clamped or skipped rather than trusted.
 */
export function segmentsOf(highlight: SearchHighlight): Segment[] {
	const { text } = highlight;
	const segments: Segment[] = [];
	let at = 0;
	for (const [rawStart, rawEnd] of highlight.ranges) {
		const start = Math.max(at, Math.min(rawStart, text.length));
		const end = Math.min(Math.max(rawEnd, start), text.length);
		if (end <= start) continue;
		if (start > at) segments.push({ text: text.slice(at, start), marked: false });
		segments.push({ text: text.slice(start, end), marked: true });
		at = end;
	}
	if (at < text.length) segments.push({ text: text.slice(at), marked: false });
	return segments;
}
