import { describe, expect, it } from 'vitest';
import type { ReactionsEvent } from '@scalable-chat/contract';
import { message } from './fixtures';
import { reactorsText, toggleReaction, withReactions } from './reactions';

const event = (overrides: Partial<ReactionsEvent>): ReactionsEvent => ({
	groupId: 'g1',
	messageId: 'm1',
	version: 5,
	reactions: [],
	actorId: 'bob',
	emoji: '👍',
	on: true,
	...overrides
});

describe('reactions', () => {
	it('toggles my own reaction on and off, adding and removing the chip', () => {
		const on = toggleReaction([], '👍', true, 'me');
		expect(on).toEqual([{ emoji: '👍', count: 1, userIds: ['me'], me: true }]);
		expect(toggleReaction(on, '👍', true, 'me')).toBe(on);
		expect(toggleReaction(on, '👍', false, 'me')).toEqual([]);
		const shared = toggleReaction([{ emoji: '🎉', count: 2, userIds: ['a', 'b'], me: false }], '🎉', true, 'me');
		expect(shared[0]).toMatchObject({ count: 3, me: true });
		expect(toggleReaction(shared, '🎉', false, 'me')[0]).toEqual({
			emoji: '🎉',
			count: 2,
			userIds: ['a', 'b'],
			me: false
		});
	});

	it('takes `me` from the event when I did it, and keeps mine when someone else did', () => {
		const m = message(1, { version: 3, reactions: [{ emoji: '❤️', count: 12, userIds: [], me: true }] });
		const bobReacted = withReactions(
			m,
			event({
				reactions: [
					{ emoji: '❤️', count: 12, userIds: ['x'] },
					{ emoji: '👍', count: 1, userIds: ['bob'] }
				]
			}),
			'me'
		);
		// My ❤️ is beyond the listed userIds: only what I had says it is mine.
		expect(bobReacted?.reactions.map(r => [r.emoji, r.me])).toEqual([
			['❤️', true],
			['👍', false]
		]);
		expect(bobReacted?.version).toBe(5);
		const iTookItBack = withReactions(
			bobReacted!,
			event({
				version: 6,
				actorId: 'me',
				emoji: '❤️',
				on: false,
				reactions: [{ emoji: '❤️', count: 11, userIds: ['x'] }]
			}),
			'me'
		);
		expect(iTookItBack?.reactions).toEqual([{ emoji: '❤️', count: 11, userIds: ['x'], me: false }]);
	});

	it('ignores an event older than the copy held', () => {
		expect(withReactions(message(1, { version: 9 }), event({ version: 8 }), 'me')).toBeNull();
	});

	it('says who reacted, with "and N others" beyond the listed ones', () => {
		const name = (id: string) => (id === 'me' ? 'You' : id.toUpperCase());
		expect(reactorsText({ emoji: '👍', count: 1, userIds: ['a'], me: false }, name, 'me')).toBe('A');
		expect(reactorsText({ emoji: '👍', count: 3, userIds: ['me', 'a', 'b'], me: true }, name, 'me')).toBe(
			'You, A and B'
		);
		expect(reactorsText({ emoji: '👍', count: 14, userIds: ['a', 'b'], me: false }, name, 'me')).toBe(
			'A, B and 12 others'
		);
		expect(reactorsText({ emoji: '👍', count: 3, userIds: ['a', 'b'], me: true }, name, 'me')).toBe('You, A and B');
	});
});
