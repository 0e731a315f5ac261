/** What a scroll container reports about its position. */
export interface ScrollMetrics {
	scrollTop: number;
	scrollHeight: number;
	clientHeight: number;
}

/** The rows at both ends of the content, by their stable keys. */
export interface ContentEdges {
	/** The row that anchors the reader when older content is inserted above it. */
	firstKey: string | undefined;
	lastKey: string | undefined;
}

export interface ContentChange {
	/** Older rows were inserted above the previous first row. */
	prepended: boolean;
	/** The last row changed: something new at the end. */
	appended: boolean;
}

/** What to do once the DOM holds the changed content. */
export type ScrollAdjustment = 'keep-anchor' | 'to-bottom' | 'stay-at-bottom' | 'count-unseen' | 'none';

export function isAtBottom(metrics: ScrollMetrics, slack: number): boolean {
	return metrics.scrollHeight - metrics.scrollTop - metrics.clientHeight <= slack;
}

/**
 * Where the first render starts: at the bottom when that view shows the target (or there is none), else with the
 * target a third of the way down, as Element opens at the read marker. `targetTop` is in content pixels.
 */
export function startScrollTop(metrics: Omit<ScrollMetrics, 'scrollTop'>, targetTop: number | null): number {
	const bottom = Math.max(0, metrics.scrollHeight - metrics.clientHeight);
	if (targetTop === null || targetTop >= bottom) return bottom;
	return Math.max(0, targetTop - metrics.clientHeight / 3);
}

/** The scrollTop that keeps the rows on screen in place after content grew above them. */
export function anchoredScrollTop(
	before: Pick<ScrollMetrics, 'scrollTop' | 'scrollHeight'>,
	scrollHeight: number
): number {
	return before.scrollTop + (scrollHeight - before.scrollHeight);
}

/**
 * Compare the content's edges before and after an update. A new first row counts as prepended only
 * while the old first row is still there (a replaced window is not history arriving above).
 */
export function contentChange(
	previous: ContentEdges,
	next: ContentEdges,
	contains: (key: string) => boolean
): ContentChange {
	const prepended =
		previous.firstKey !== undefined && next.firstKey !== previous.firstKey && contains(previous.firstKey);
	return { prepended, appended: next.lastKey !== previous.lastKey };
}

/**
 * Keep the reader's place: hold the anchor when history arrives above, follow new content only
 * from the bottom (or when it must be seen, like one's own message), otherwise count it as unseen.
 */
export function adjustmentFor(
	change: ContentChange,
	reader: { wasAtBottom: boolean; stickOnAppend: boolean }
): ScrollAdjustment {
	if (change.prepended) return 'keep-anchor';
	// Rows changed in place (a reaction, an edit, a preview): a reader at the bottom stays there as they grow.
	if (!change.appended) return reader.wasAtBottom ? 'stay-at-bottom' : 'none';
	return reader.wasAtBottom || reader.stickOnAppend ? 'to-bottom' : 'count-unseen';
}
