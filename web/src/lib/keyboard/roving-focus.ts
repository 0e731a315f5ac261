import type { Attachment } from 'svelte/attachments';

/**
 * Where a key moves a roving focus among `count` items, or null for a key that does not move it: the arrows
 * along `orientation` (a toolbar's row, a menu's column), wrapping at both ends, and Home and End. `current`
 * is -1 while none of them has the focus: the next is the first, the previous the last.
 */
export function rovingIndex(
	key: string,
	current: number,
	count: number,
	orientation: 'horizontal' | 'vertical' = 'horizontal'
): number | null {
	if (count === 0) return null;
	const [previous, next] = orientation === 'horizontal' ? ['ArrowLeft', 'ArrowRight'] : ['ArrowUp', 'ArrowDown'];
	switch (key) {
		case next:
			return (current + 1) % count;
		case previous:
			return current <= 0 ? count - 1 : current - 1;
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
