import { describe, expect, it } from 'vitest';
import { rovingIndex } from './roving-focus';

describe('roving focus', () => {
	it('moves with the arrows, wrapping at both ends, and jumps with Home and End', () => {
		expect(rovingIndex('ArrowRight', 0, 5)).toBe(1);
		expect(rovingIndex('ArrowRight', 4, 5)).toBe(0);
		expect(rovingIndex('ArrowLeft', 0, 5)).toBe(4);
		expect(rovingIndex('Home', 3, 5)).toBe(0);
		expect(rovingIndex('End', 0, 5)).toBe(4);
	});

	it('leaves other keys alone', () => {
		expect(rovingIndex('Enter', 2, 5)).toBeNull();
		expect(rovingIndex('Tab', 2, 5)).toBeNull();
		expect(rovingIndex('ArrowDown', 2, 5)).toBeNull();
	});

	it('moves a column (a menu) with Up and Down, not Left and Right', () => {
		expect(rovingIndex('ArrowDown', 0, 4, 'vertical')).toBe(1);
		expect(rovingIndex('ArrowDown', 3, 4, 'vertical')).toBe(0);
		expect(rovingIndex('ArrowUp', 0, 4, 'vertical')).toBe(3);
		expect(rovingIndex('ArrowUp', 2, 4, 'vertical')).toBe(1);
		expect(rovingIndex('End', 1, 4, 'vertical')).toBe(3);
		expect(rovingIndex('ArrowRight', 1, 4, 'vertical')).toBeNull();
	});

	it('starts at an end when none has the focus, and does nothing without items', () => {
		expect(rovingIndex('ArrowDown', -1, 4, 'vertical')).toBe(0);
		expect(rovingIndex('ArrowUp', -1, 4, 'vertical')).toBe(3);
		expect(rovingIndex('ArrowRight', -1, 4)).toBe(0);
		expect(rovingIndex('Home', 0, 0)).toBeNull();
	});
});
