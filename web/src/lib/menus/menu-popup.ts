import type { Attachment } from 'svelte/attachments';
import { standInFor } from '#lib/keyboard/focus-return.ts';
import { rovingIndex } from '#lib/keyboard/roving-focus.ts';

export interface MenuPopupOptions {
	/** The button that opened the menu: the focus goes back to it, and pressing it is not "elsewhere" (it toggles). */
	button: () => HTMLElement | undefined;
	close: () => void;
}

const ITEMS = '[role="menuitem"], [role="menuitemradio"], [role="menuitemcheckbox"]';

/**
 * An open menu of a menu button (the WAI-ARIA menu button, as in Slack's and Element's menus): its first item
 * takes the focus; Up and Down move between the items, wrapping, Home and End go to the first and the last;
 * Escape closes it and gives the focus back to the button, Tab closes it and goes on from the button, and so
 * does a press elsewhere. Closed with the focus inside (an item chosen), the focus goes back to the button.
 */
export function menuPopup({ button, close }: MenuPopupOptions): Attachment<HTMLElement> {
	return menu => {
		const items = () => [...menu.querySelectorAll<HTMLElement>(ITEMS)].filter(item => !item.matches(':disabled'));
		const refocus = () => button()?.focus({ preventScroll: true });
		const onkeydown = (e: KeyboardEvent) => {
			if (e.key === 'Escape') {
				// Only the menu closes, not the panel behind it.
				e.stopPropagation();
				close();
				refocus();
				return;
			}
			// The focus in the menu, or nowhere (on an item that was disabled while it saved).
			const target = e.target as Node;
			if (!menu.contains(target) && target !== document.body) return;
			if (e.key === 'Tab') {
				// Not prevented: from the button, Tab goes on to what follows it.
				close();
				refocus();
				return;
			}
			const all = items();
			const next = rovingIndex(e.key, all.indexOf(document.activeElement as HTMLElement), all.length, 'vertical');
			if (next === null) return;
			e.preventDefault();
			all[next].focus();
		};
		const onpointerdown = (e: PointerEvent) => {
			const target = e.target as Node;
			if (!menu.contains(target) && !button()?.contains(target)) close();
		};
		// A click on the menu's headings keeps the focus in it, for the arrows.
		menu.tabIndex = -1;
		// A dialog one of its items opened gives the focus back to the button, the item being gone by then.
		standInFor(menu, button);
		document.addEventListener('keydown', onkeydown);
		document.addEventListener('pointerdown', onpointerdown, true);
		items()[0]?.focus({ preventScroll: true });
		return () => {
			document.removeEventListener('keydown', onkeydown);
			document.removeEventListener('pointerdown', onpointerdown, true);
			// The menu is gone from the page by now: focus left in it has fallen to the body.
			if (!document.activeElement || document.activeElement === document.body) refocus();
		};
	};
}
