// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { menuPopup } from './menu-popup';

describe('menu popup', () => {
	let button: HTMLButtonElement;
	let menu: HTMLElement;
	let closed: number;
	let detach: (() => void) | void;

	const key = (name: string, target: Element = document.activeElement ?? document.body) => {
		const event = new KeyboardEvent('keydown', { key: name, bubbles: true, cancelable: true });
		target.dispatchEvent(event);
		return event;
	};
	const focused = () => document.activeElement?.textContent;
	/** What the component does on close: the menu leaves the page, and the attachment is torn down. */
	const unmount = () => {
		menu.remove();
		detach?.();
		detach = undefined;
	};

	beforeEach(() => {
		closed = 0;
		document.body.innerHTML = `
			<button id="trigger">Notifications</button>
			<div role="menu">
				<p>Notify me about</p>
				<button role="menuitemradio">All</button>
				<button role="menuitemradio">Mentions</button>
				<button role="menuitem" disabled>Saving</button>
				<button role="menuitem">Mute</button>
			</div>
			<button id="after">Members</button>`;
		button = document.querySelector('#trigger')!;
		menu = document.querySelector('[role="menu"]')!;
		button.focus();
		detach = menuPopup({ button: () => button, close: () => closed++ })(menu);
	});

	afterEach(() => detach?.());

	it('puts the focus on the first item when it opens', () => {
		expect(focused()).toBe('All');
	});

	it('moves with Up and Down past disabled items, wrapping, and jumps with Home and End', () => {
		const down = key('ArrowDown');
		expect(down.defaultPrevented).toBe(true);
		expect(focused()).toBe('Mentions');
		key('ArrowDown');
		expect(focused()).toBe('Mute');
		key('ArrowDown');
		expect(focused()).toBe('All');
		key('ArrowUp');
		expect(focused()).toBe('Mute');
		key('Home');
		expect(focused()).toBe('All');
		key('End');
		expect(focused()).toBe('Mute');
		expect(closed).toBe(0);
	});

	it('closes on Escape, gives the focus back to its button and keeps the Escape from the panel behind', () => {
		let reachedWindow = false;
		const onWindow = (e: KeyboardEvent) => void (e.key === 'Escape' && (reachedWindow = true));
		window.addEventListener('keydown', onWindow);
		key('ArrowDown');
		key('Escape');
		window.removeEventListener('keydown', onWindow);
		expect(closed).toBe(1);
		expect(document.activeElement).toBe(button);
		expect(reachedWindow).toBe(false);
	});

	it('closes on Tab from the button, so that Tab goes on past it', () => {
		const tab = key('Tab');
		expect(closed).toBe(1);
		expect(tab.defaultPrevented).toBe(false);
		expect(document.activeElement).toBe(button);
	});

	it('closes on a press elsewhere, but not on its items or on its button (whose click toggles it)', () => {
		const press = (el: Element) => el.dispatchEvent(new Event('pointerdown', { bubbles: true }));
		press(menu.querySelector('p')!);
		press(button);
		expect(closed).toBe(0);
		press(document.querySelector('#after')!);
		expect(closed).toBe(1);
	});

	it('gives the focus back to its button when it closes after an item was chosen', () => {
		key('ArrowDown');
		unmount();
		expect(document.activeElement).toBe(button);
	});

	it('leaves the focus where it went when it closed for something else', () => {
		const after = document.querySelector<HTMLElement>('#after')!;
		after.focus();
		unmount();
		expect(document.activeElement).toBe(after);
	});

	it('leaves keys alone once closed', () => {
		unmount();
		button.focus();
		expect(key('ArrowDown').defaultPrevented).toBe(false);
		key('Escape');
		expect(closed).toBe(0);
	});
});
