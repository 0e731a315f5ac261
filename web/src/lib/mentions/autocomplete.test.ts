import { describe, expect, it } from 'vitest';
import { insertMention, matchMentions, mentionQueryAt, type MentionCandidate } from './autocomplete';

const people: MentionCandidate[] = [
	{ userId: 'u1', username: 'alice', displayName: 'Alice Liddell' },
	{ userId: 'u2', username: 'bob', displayName: 'Robert Ally' },
	{ userId: 'u3', username: 'carol', displayName: 'Carol Danvers' },
	{ userId: null, username: 'all', displayName: 'Everyone in this group' }
];

describe('mention autocomplete', () => {
	it('finds the @word being typed at the caret', () => {
		expect(mentionQueryAt('hi @al', 6)).toEqual({ start: 3, query: 'al' });
		expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' });
		expect(mentionQueryAt('(@bo', 4)).toEqual({ start: 1, query: 'bo' });
		// An e-mail address is not a mention; nor is text after a finished one.
		expect(mentionQueryAt('me@example', 10)).toBeNull();
		expect(mentionQueryAt('@alice hi', 9)).toBeNull();
		expect(mentionQueryAt('no at sign', 5)).toBeNull();
	});

	it('matches usernames first, then words of display names, case-insensitively', () => {
		expect(matchMentions('al', people).map(c => c.username)).toEqual(['alice', 'all', 'bob']);
		expect(matchMentions('DAN', people).map(c => c.username)).toEqual(['carol']);
		expect(matchMentions('', people)).toHaveLength(4);
		expect(matchMentions('', people, 2)).toHaveLength(2);
		expect(matchMentions('zz', people)).toEqual([]);
	});

	it('replaces the typed part with @username and a space, caret after it', () => {
		expect(insertMention('hi @al', { start: 3, query: 'al' }, 6, 'alice')).toEqual({ text: 'hi @alice ', caret: 10 });
		expect(insertMention('@b and more', { start: 0, query: 'b' }, 2, 'bob')).toEqual({
			text: '@bob and more',
			caret: 5
		});
	});
});
