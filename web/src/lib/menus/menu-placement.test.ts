import { describe, expect, it } from 'vitest';
import { opensUpward } from './menu-placement';

const area = { top: 60, bottom: 700 };

describe('menu placement', () => {
	it('opens below while the menu fits there', () => {
		expect(opensUpward({ top: 300, bottom: 340 }, 300, area)).toBe(false);
	});

	it('opens upward for the last messages, where it would be cut off below', () => {
		expect(opensUpward({ top: 620, bottom: 660 }, 300, area)).toBe(true);
	});

	it('stays below when neither side fits and below has more room', () => {
		expect(opensUpward({ top: 100, bottom: 400 }, 400, area)).toBe(false);
	});
});
