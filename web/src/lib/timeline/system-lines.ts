import type { SystemLine } from '@scalable-chat/contract';

/** "Alice", "Alice and Bob", "Alice, Bob and Carol". */
export function listNames(names: string[]): string {
	if (names.length <= 1) return names[0] ?? '';
	return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The user ids a system line names (to look up their profiles). */
export function systemLineUserIds(line: SystemLine, actorId: string): string[] {
	switch (line.type) {
		case 'members.added':
			return [actorId, ...line.userIds];
		case 'member.removed':
		case 'role.changed':
			return [actorId, line.userId];
		default:
			return [actorId];
	}
}

/** What a system line says, naming people as `nameOf` does ("You" for the reader). */
export function systemLineText(line: SystemLine, actorId: string, nameOf: (userId: string) => string): string {
	const actor = nameOf(actorId);
	switch (line.type) {
		case 'members.added': {
			const added = line.userIds.filter(id => id !== actorId);
			// Joining by oneself (an invite link, a public group) names nobody else.
			if (added.length === 0) return `${actor} joined`;
			return `${actor} added ${listNames(added.map(nameOf))}`;
		}
		case 'member.removed':
			return `${actor} removed ${nameOf(line.userId)}`;
		case 'member.left':
			return `${actor} left`;
		case 'group.renamed':
			return `${actor} renamed the group to “${line.name}”`;
		case 'group.avatar':
			return line.avatarUrl ? `${actor} changed the group picture` : `${actor} removed the group picture`;
		case 'role.changed':
			if (line.role === 'member') return `${actor} made ${nameOf(line.userId)} a member`;
			return `${actor} made ${nameOf(line.userId)} ${line.role === 'admin' ? 'an admin' : 'the owner'}`;
	}
}
