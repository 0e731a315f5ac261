import type { Group } from '@scalable-chat/contract';

/** The other person in a direct conversation. */
export function directPeerId(group: Group, myUserId: string): string | null {
	if (group.type !== 'direct') return null;
	return group.members.find(m => m.userId !== myUserId)?.userId ?? group.members[0]?.userId ?? null;
}

export function myRole(group: Group, myUserId: string) {
	return group.members.find(m => m.userId === myUserId)?.role ?? null;
}
