import { describe, expect, it } from 'vitest';
import { listNames, systemLineText, systemLineUserIds } from './system-lines';

const names: Record<string, string> = { a: 'Alice', b: 'Bob', c: 'Carol', d: 'Dan', me: 'You' };
const nameOf = (id: string) => names[id] ?? '…';

describe('system lines', () => {
	it('say what happened to the group, naming people', () => {
		expect(systemLineText({ type: 'members.added', userIds: ['b', 'c'] }, 'a', nameOf)).toBe(
			'Alice added Bob and Carol'
		);
		expect(systemLineText({ type: 'members.added', userIds: ['b', 'c', 'd'] }, 'a', nameOf)).toBe(
			'Alice added Bob, Carol and Dan'
		);
		expect(systemLineText({ type: 'members.added', userIds: ['c'] }, 'c', nameOf)).toBe('Carol joined');
		expect(systemLineText({ type: 'member.left' }, 'c', nameOf)).toBe('Carol left');
		expect(systemLineText({ type: 'member.removed', userId: 'c' }, 'me', nameOf)).toBe('You removed Carol');
		expect(systemLineText({ type: 'group.renamed', name: 'Trip', previousName: 'Old' }, 'd', nameOf)).toBe(
			'Dan renamed the group to “Trip”'
		);
		expect(systemLineText({ type: 'group.avatar', avatarUrl: '/x' }, 'a', nameOf)).toBe(
			'Alice changed the group picture'
		);
		expect(systemLineText({ type: 'group.avatar', avatarUrl: null }, 'a', nameOf)).toBe(
			'Alice removed the group picture'
		);
		expect(systemLineText({ type: 'role.changed', userId: 'b', role: 'admin' }, 'a', nameOf)).toBe(
			'Alice made Bob an admin'
		);
		expect(systemLineText({ type: 'role.changed', userId: 'b', role: 'member' }, 'a', nameOf)).toBe(
			'Alice made Bob a member'
		);
	});

	it('list the people to look up', () => {
		expect(systemLineUserIds({ type: 'members.added', userIds: ['b', 'c'] }, 'a')).toEqual(['a', 'b', 'c']);
		expect(systemLineUserIds({ type: 'group.renamed', name: 'x', previousName: 'y' }, 'a')).toEqual(['a']);
		expect(listNames([])).toBe('');
	});
});
