// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from 'vitest';
import { focusTarget, rescueFocus, restoreFocus, standInFor } from './focus-return.ts';

describe('focus-return', () => {
	beforeEach(() => {
		document.body.innerHTML = `
			<main tabindex="-1">
				<button id="more">More actions</button>
				<div id="menu" role="menu"><button id="item" role="menuitem">Delete</button></div>
				<textarea id="composer" data-focus-home></textarea>
			</main>`;
	});
	const el = (id: string) => document.getElementById(id)!;

	it('gives the focus back to what had it while it is on the page', () => {
		restoreFocus(el('item'));
		expect(document.activeElement).toBe(el('item'));
	});

	it("a menu's item that is gone: the menu's button", () => {
		const item = el('item');
		standInFor(el('menu'), () => el('more'));
		el('menu').remove();
		expect(focusTarget(item)).toBe(el('more'));
		restoreFocus(item);
		expect(document.activeElement).toBe(el('more'));
	});

	it('gone with its stand-in (the message was deleted): the composer', () => {
		const item = el('item');
		const more = el('more');
		standInFor(el('menu'), () => more);
		el('menu').remove();
		more.remove();
		expect(focusTarget(item)).toBe(el('composer'));
	});

	it('no composer: the main region; a disabled one does not count', () => {
		const gone = el('more');
		gone.remove();
		(el('composer') as HTMLTextAreaElement).disabled = true;
		expect(focusTarget(gone)).toBe(document.querySelector('main'));
	});

	it('rescues the focus only when it fell to the page', () => {
		el('more').focus();
		rescueFocus();
		expect(document.activeElement).toBe(el('more'));
		el('more').remove();
		expect(document.activeElement).toBe(document.body);
		rescueFocus();
		expect(document.activeElement).toBe(el('composer'));
	});
});
