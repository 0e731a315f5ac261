/**
 * Where the focus goes when what had it is gone: a dialog that closes gives it back to what had it before it
 * opened, but that may have left the page meanwhile (a menu's item, a deleted message's buttons). Then it goes
 * to what stands in for it (a menu: its button), else home: the composer, else the main region. Never to
 * <body>, where the keyboard user would start again from the top of the page.
 */

/** Marks the place the focus goes home to (the composer); the first on the page wins. */
export const FOCUS_HOME = 'data-focus-home';

const standIns = new WeakMap<Element, () => HTMLElement | null | undefined>();

/** While `container` is gone, focus meant for anything in it goes to `standIn()` (a menu: the button that opened it). */
export function standInFor(container: Element, standIn: () => HTMLElement | null | undefined): void {
	standIns.set(container, standIn);
}

const onPage = (el: Element | null | undefined): el is HTMLElement =>
	el instanceof HTMLElement && el.isConnected && !el.matches(':disabled') && !el.closest('[inert]');

/** The nearest stand-in of `el`'s containers (a detached element keeps its ancestors up to what was removed). */
function standInOf(el: Element): HTMLElement | null {
	for (let at: Element | null = el; at; at = at.parentElement) {
		const standIn = standIns.get(at)?.();
		if (onPage(standIn)) return standIn;
	}
	return null;
}

/** The element the focus goes to when nothing better is left: the composer, else the main region. */
export function focusHome(doc: Document = document): HTMLElement | null {
	const home = doc.querySelector<HTMLElement>(`[${FOCUS_HOME}]`);
	if (onPage(home)) return home;
	return doc.querySelector<HTMLElement>('main');
}

/** Where focus meant for `before` goes: itself while it is on the page, else its stand-in, else home. */
export function focusTarget(before: Element | null): HTMLElement | null {
	if (onPage(before)) return before;
	return (before && standInOf(before)) ?? focusHome(before?.ownerDocument ?? document);
}

/** Gives the focus back to `before`, or to what is there in its place. */
export function restoreFocus(before: Element | null): void {
	focusTarget(before)?.focus({ preventScroll: true });
}

/** The focus fell to <body> (what had it left the page): send it home. */
export function rescueFocus(doc: Document = document): void {
	if (!doc.activeElement || doc.activeElement === doc.body) focusHome(doc)?.focus({ preventScroll: true });
}
