import { describe, expect, it } from 'vitest';
import { formatBytes, formatDay, formatLastSeen, initials, typingText } from './format';

describe('format', () => {
	it('formats sizes', () => {
		expect(formatBytes(512)).toBe('512 B');
		expect(formatBytes(1536)).toBe('1.5 KB');
		expect(formatBytes(25 * 1024 * 1024)).toBe('25 MB');
	});
	it('names days relative to today', () => {
		const now = new Date(2025, 5, 10, 12);
		expect(formatDay(new Date(2025, 5, 10, 1), now)).toBe('Today');
		expect(formatDay(new Date(2025, 5, 9, 23), now)).toBe('Yesterday');
	});
	it('describes who is typing', () => {
		expect(typingText(['Alice'])).toBe('Alice is typing…');
		expect(typingText(['Alice', 'Bob'])).toBe('Alice and Bob are typing…');
		expect(typingText(['a', 'b', 'c'])).toBe('3 people are typing…');
	});
});

describe('initials', () => {
	it('takes the first letter or digit of the first two words', () => {
		expect(initials('Alice Liddell')).toBe('AL');
		expect(initials('bob')).toBe('B');
		expect(initials('Group 5')).toBe('G5');
		expect(initials('G5')).toBe('G');
		expect(initials('Mary Jane Watson')).toBe('MJ');
		expect(initials('  design   team  ')).toBe('DT');
		expect(initials('alice_smith')).toBe('AS');
	});
	it('looks past punctuation and words without a letter', () => {
		expect(initials('#general')).toBe('G');
		expect(initials('(Work) chat')).toBe('WC');
		expect(initials('Design & Build')).toBe('DB');
		expect(initials('Team 🎉 Launch')).toBe('TL');
	});
	it('keeps emoji, flags and accented letters whole', () => {
		expect(initials('🎉 Party')).toBe('🎉');
		expect(initials('👨‍👩‍👧 Family')).toBe('👨‍👩‍👧');
		expect(initials('🇫🇷 Paris')).toBe('🇫🇷');
		expect(initials('Party 🎉')).toBe('P');
		expect(initials('e\u0301mile zola')).toBe('E\u0301Z');
		expect(initials('Łukasz Żak')).toBe('ŁŻ');
		expect(initials('张伟')).toBe('张');
		expect(initials('straße')).toBe('S');
		expect(initials('ßtraße')).toBe('ß');
	});
	it('is a question mark for a name with nothing to show', () => {
		expect(initials('')).toBe('?');
		expect(initials('   ')).toBe('?');
		expect(initials('--- ???')).toBe('?');
	});
});

describe('formatLastSeen', () => {
	const now = new Date(2026, 2, 10, 15, 0);
	it('is relative while recent, then a day and time, then a date', () => {
		expect(formatLastSeen(new Date(2026, 2, 10, 14, 59, 40), now)).toBe('last seen just now');
		expect(formatLastSeen(new Date(2026, 2, 10, 14, 55), now)).toBe('last seen 5 minutes ago');
		expect(formatLastSeen(new Date(2026, 2, 10, 14, 59), now)).toBe('last seen 1 minute ago');
		expect(formatLastSeen(new Date(2026, 2, 10, 9, 5), now)).toMatch(/^last seen today at /);
		expect(formatLastSeen(new Date(2026, 2, 9, 9, 5), now)).toMatch(/^last seen yesterday at /);
		expect(formatLastSeen(new Date(2026, 0, 3), now)).toMatch(/^last seen on /);
	});
});
