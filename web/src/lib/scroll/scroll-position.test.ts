import { describe, expect, it } from 'vitest';
import { adjustmentFor, anchoredScrollTop, contentChange, isAtBottom, startScrollTop } from './scroll-position';

const has =
	(...keys: string[]) =>
	(key: string) =>
		keys.includes(key);

describe('scroll position', () => {
	it('counts the last few pixels as the bottom', () => {
		expect(isAtBottom({ scrollTop: 552, scrollHeight: 1000, clientHeight: 400 }, 48)).toBe(true);
		expect(isAtBottom({ scrollTop: 551, scrollHeight: 1000, clientHeight: 400 }, 48)).toBe(false);
		// Content shorter than the viewport is always at the bottom.
		expect(isAtBottom({ scrollTop: 0, scrollHeight: 300, clientHeight: 400 }, 48)).toBe(true);
	});

	it('keeps the rows on screen in place when history grows above them', () => {
		expect(anchoredScrollTop({ scrollTop: 120, scrollHeight: 2000 }, 3500)).toBe(1620);
		expect(anchoredScrollTop({ scrollTop: 0, scrollHeight: 2000 }, 2000)).toBe(0);
	});

	it('tells prepended history from a replaced window', () => {
		const before = { firstKey: 'g:10', lastKey: 'g:20' };
		expect(contentChange(before, { firstKey: 'g:1', lastKey: 'g:20' }, has('g:1', 'g:10', 'g:20'))).toEqual({
			prepended: true,
			appended: false
		});
		expect(contentChange(before, { firstKey: 'g:1', lastKey: 'g:5' }, has('g:1', 'g:5')).prepended).toBe(false);
		expect(contentChange(before, { firstKey: 'g:10', lastKey: 'g:21' }, has('g:10', 'g:21'))).toEqual({
			prepended: false,
			appended: true
		});
	});

	it('does not call the first render prepended', () => {
		const first = contentChange(
			{ firstKey: undefined, lastKey: undefined },
			{ firstKey: 'g:1', lastKey: 'g:5' },
			has('g:1')
		);
		expect(first).toEqual({ prepended: false, appended: true });
	});

	it('follows new content only from the bottom, or when it must be seen', () => {
		const appended = { prepended: false, appended: true };
		expect(adjustmentFor(appended, { wasAtBottom: true, stickOnAppend: false })).toBe('to-bottom');
		expect(adjustmentFor(appended, { wasAtBottom: false, stickOnAppend: true })).toBe('to-bottom');
		expect(adjustmentFor(appended, { wasAtBottom: false, stickOnAppend: false })).toBe('count-unseen');
		expect(adjustmentFor({ prepended: false, appended: false }, { wasAtBottom: false, stickOnAppend: true })).toBe(
			'none'
		);
		expect(adjustmentFor({ prepended: false, appended: false }, { wasAtBottom: true, stickOnAppend: false })).toBe(
			'stay-at-bottom'
		);
	});

	it('holds the anchor when history and new content arrive together', () => {
		expect(adjustmentFor({ prepended: true, appended: true }, { wasAtBottom: true, stickOnAppend: true })).toBe(
			'keep-anchor'
		);
	});

	it('opens at the unread divider whenever the bottom view would not show it', () => {
		const metrics = { scrollHeight: 3000, clientHeight: 600 };
		// Near the top of what is loaded (a few read messages above many long unread ones): not the bottom.
		expect(startScrollTop(metrics, 200)).toBe(0);
		expect(startScrollTop(metrics, 1500)).toBe(1300);
		// Just above the bottom view, and inside it.
		expect(startScrollTop(metrics, 2399)).toBe(2199);
		expect(startScrollTop(metrics, 2400)).toBe(2400);
		expect(startScrollTop(metrics, 2900)).toBe(2400);
		expect(startScrollTop(metrics, null)).toBe(2400);
	});

	it('stays at the bottom when everything fits', () => {
		expect(startScrollTop({ scrollHeight: 500, clientHeight: 600 }, 100)).toBe(0);
		expect(startScrollTop({ scrollHeight: 500, clientHeight: 600 }, null)).toBe(0);
	});
});
