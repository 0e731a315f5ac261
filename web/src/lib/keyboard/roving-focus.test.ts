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
	});
});
