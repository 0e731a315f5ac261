import type { Attachment } from 'svelte/attachments';

/** How far a finger must travel right (px) to reply, and how long it must rest to open the menu (ms). */
const SWIPE_DISTANCE = 64;
const LONG_PRESS_MS = 450;
/** Movement that still counts as resting for a long press. */
const SLOP = 10;

export interface TouchGestures {
	onSwipeRight?: () => void;
	onLongPress?: () => void;
}

/**
 * Phone gestures on a message: swipe right (the element follows the finger through `--swipe-x`) and long
 * press. Only touch pointers; a vertical move is a scroll and cancels both.
 */
export function touchGestures(gestures: TouchGestures): Attachment<HTMLElement> {
	return element => {
		let start: { x: number; y: number; id: number } | null = null;
		let swiping = false;
		let timer: ReturnType<typeof setTimeout> | undefined;

		const reset = () => {
			clearTimeout(timer);
			start = null;
			swiping = false;
			element.style.removeProperty('--swipe-x');
			element.classList.remove('swiping');
		};
		const down = (e: PointerEvent) => {
			if (e.pointerType !== 'touch') return;
			start = { x: e.clientX, y: e.clientY, id: e.pointerId };
			timer = setTimeout(() => {
				const pressed = start !== null && !swiping;
				reset();
				if (pressed) gestures.onLongPress?.();
			}, LONG_PRESS_MS);
		};
		const move = (e: PointerEvent) => {
			if (!start || e.pointerId !== start.id) return;
			const dx = e.clientX - start.x;
			const dy = e.clientY - start.y;
			if (Math.abs(dx) > SLOP || Math.abs(dy) > SLOP) clearTimeout(timer);
			if (!swiping && Math.abs(dy) > SLOP && Math.abs(dy) > Math.abs(dx)) return reset();
			if (dx > SLOP && gestures.onSwipeRight) {
				swiping = true;
				element.classList.add('swiping');
				element.style.setProperty('--swipe-x', `${Math.min(dx, SWIPE_DISTANCE * 1.4)}px`);
			}
		};
		const up = (e: PointerEvent) => {
			if (!start || e.pointerId !== start.id) return;
			const replied = swiping && e.clientX - start.x >= SWIPE_DISTANCE;
			reset();
			if (replied) gestures.onSwipeRight?.();
		};
		const contextmenu = (e: Event) => {
			// The long press opens our menu, not the browser's.
			if (gestures.onLongPress && (e as PointerEvent).pointerType !== 'mouse' && start) e.preventDefault();
		};
		element.addEventListener('pointerdown', down);
		element.addEventListener('pointermove', move);
		element.addEventListener('pointerup', up);
		element.addEventListener('pointercancel', reset);
		element.addEventListener('contextmenu', contextmenu);
		return () => {
			reset();
			element.removeEventListener('pointerdown', down);
			element.removeEventListener('pointermove', move);
			element.removeEventListener('pointerup', up);
			element.removeEventListener('pointercancel', reset);
			element.removeEventListener('contextmenu', contextmenu);
		};
	};
}
