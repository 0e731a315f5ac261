import { describe, expect, it } from 'vitest';
import { filterConversations, moveSelection } from './filter';

const entries = ['Weekend trip', 'Design team', 'Zoë Martin', 'Backend on-call', 'Team lunch', 'Dana'].map(
	(title, i) => ({
		id: `g${i}`,
		title
	})
);
const titles = (query: string, limit?: number) => filterConversations(entries, query, limit).map(e => e.title);

describe('quick switcher filtering', () => {
	it('lists the latest conversations (in the given order) for an empty query, up to the limit', () => {
		expect(titles('')).toEqual(entries.map(e => e.title));
		expect(titles('  ', 2)).toEqual(['Weekend trip', 'Design team']);
	});

	it('ranks a prefix first, then a word start, then anywhere, then letters in order', () => {
		expect(titles('team')).toEqual(['Team lunch', 'Design team']);
		expect(titles('d')).toEqual(['Design team', 'Dana', 'Weekend trip', 'Backend on-call']);
		expect(titles('call')).toEqual(['Backend on-call']);
		expect(titles('wtr')).toEqual(['Weekend trip']);
	});

	it('ignores case and accents', () => {
		expect(titles('ZOE')).toEqual(['Zoë Martin']);
		expect(titles('zoë m')).toEqual(['Zoë Martin']);
	});

	it('finds nothing when the letters are not there', () => {
		expect(titles('xyz')).toEqual([]);
	});

	it('moves the selection with arrows, wrapping around', () => {
		expect(moveSelection(0, 3, 'ArrowDown')).toBe(1);
		expect(moveSelection(2, 3, 'ArrowDown')).toBe(0);
		expect(moveSelection(0, 3, 'ArrowUp')).toBe(2);
		expect(moveSelection(0, 0, 'ArrowUp')).toBe(0);
	});
});
