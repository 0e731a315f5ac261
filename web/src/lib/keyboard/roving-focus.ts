import type { Attachment } from 'svelte/attachments';

/** Where the arrow keys move a roving focus in a row of `count` items, or null for a key that does not move it. */
export function rovingIndex(key: string, current: number, count: number): number | null {
	switch (key) {
		case 'ArrowRight':
			return (current + 1) % count;
		case 'ArrowLeft':
			return (current - 1 + count) % count;
		case 'Home':
			return 0;
		case 'End':
			return count - 1;
		default:
			return null;
	}
}

/**
 * A row of buttons that is one tab stop (the WAI-ARIA toolbar, like Element's message action bar): Tab enters at
 * the button last used, the arrow keys, Home and End move between them.
 */
export const rovingFocus: Attachment<HTMLElement> = node => {
	const buttons = () => [...node.querySelectorAll<HTMLElement>('button')];
	let current = 0;
	const settle = () => buttons().forEach((button, i) => (button.tabIndex = i === current ? 0 : -1));
	const onfocusin = (e: FocusEvent) => {
		const i = buttons().indexOf(e.target as HTMLElement);
		if (i < 0) return;
		current = i;
		settle();
	};
	const onkeydown = (e: KeyboardEvent) => {
		const all = buttons();
		const next = rovingIndex(e.key, current, all.length);
		if (next === null) return;
		e.preventDefault();
		all[next]?.focus();
	};
	settle();
	node.addEventListener('focusin', onfocusin);
	node.addEventListener('keydown', onkeydown);
	return () => {
		node.removeEventListener('focusin', onfocusin);
		node.removeEventListener('keydown', onkeydown);
	};
};
