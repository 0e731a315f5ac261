import { describe, expect, it } from 'vitest';
import { segmentsOf } from './highlight-segments';

describe('segmentsOf', () => {
	it('splits a fragment into plain and marked pieces', () => {
		expect(segmentsOf({ text: 'The Zanzibar launch', ranges: [[4, 12]] })).toEqual([
			{ text: 'The ', marked: false },
			{ text: 'Zanzibar', marked: true },
			{ text: ' launch', marked: false }
		]);
	});
	it('keeps markup as text', () => {
		expect(segmentsOf({ text: '<b>x</b>', ranges: [[3, 4]] }).map(s => s.text)).toEqual(['<b>', 'x', '</b>']);
	});
	it('does not trust ranges: overlapping, reversed or out of bounds ones are clamped or skipped', () => {
		expect(
			segmentsOf({
				text: 'abcdef',
				ranges: [
					[0, 2],
					[1, 3],
					[5, 2],
					[4, 99]
				]
			})
		).toEqual([
			{ text: 'ab', marked: true },
			{ text: 'c', marked: true },
			{ text: 'd', marked: false },
			{ text: 'ef', marked: true }
		]);
		expect(segmentsOf({ text: '', ranges: [[0, 1]] })).toEqual([]);
	});
});
