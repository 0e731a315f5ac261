import { describe, expect, it } from 'vitest';
import { isChunkLoadFailure } from './app-code';

describe('a chunk of the app that did not arrive', () => {
	it('is told by the browsers’ messages, not by any error', () => {
		const failures = [
			new TypeError('Failed to fetch dynamically imported module: http://x/_app/immutable/nodes/7.C8suAgGG.js'),
			new TypeError('error loading dynamically imported module: http://x/_app/immutable/nodes/7.js'),
			new TypeError('Importing a module script failed.'),
			new Error('Unable to preload CSS for /_app/immutable/assets/7.css')
		];
		for (const error of failures) expect(isChunkLoadFailure(error), error.message).toBe(true);
		expect(isChunkLoadFailure(new TypeError('Failed to fetch'))).toBe(false);
		expect(isChunkLoadFailure(new Error('x is undefined'))).toBe(false);
		expect(isChunkLoadFailure('Failed to fetch dynamically imported module')).toBe(false);
	});
});
