/**
 * Which push node sends the pushes of a conversation. `message.created` is broadcast, so every push node hears
 * it; each conversation is given to one of them by a hash of its id over the sorted node ids. While the
 * cluster's set of push nodes changes, a push may go out twice or not at all: a notification, not a message.
 */
export function ownerOf(groupId: string, nodeIDs: string[]): string | undefined {
	if (nodeIDs.length === 0) return undefined;
	let hash = 0x811c9dc5;
	for (let i = 0; i < groupId.length; i++) hash = Math.imul(hash ^ groupId.charCodeAt(i), 0x01000193) >>> 0;
	return [...nodeIDs].sort()[hash % nodeIDs.length];
}
