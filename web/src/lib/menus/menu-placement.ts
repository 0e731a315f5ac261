/** A vertical stretch of the viewport, in pixels from its top. */
export interface Span {
	top: number;
	bottom: number;
}

/** A menu that hangs below its anchor opens upward instead when it does not fit below and there is more room above. */
export function opensUpward(anchor: Span, menuHeight: number, area: Span): boolean {
	const below = area.bottom - anchor.bottom;
	return menuHeight > below && anchor.top - area.top > below;
}

/** The part of the viewport where `el` can be seen: the window, cut by every ancestor that clips (a scroller). */
export function visibleArea(el: Element): Span {
	const area = { top: 0, bottom: window.innerHeight };
	for (let parent = el.parentElement; parent; parent = parent.parentElement) {
		if (getComputedStyle(parent).overflowY === 'visible') continue;
		const box = parent.getBoundingClientRect();
		area.top = Math.max(area.top, box.top);
		area.bottom = Math.min(area.bottom, box.bottom);
	}
	return area;
}
