import type { GroupBase, Message, Presence, PresenceStatus, SyncItem } from '#lib/api/types.ts';

/** Events the server pushes. */
export interface ServerEvents {
	'chat.message.incoming': Message;
	'chat.message.deleted': Message;
	'chat.message.delivered': { groupId: string; userId: string; seq: number };
	'chat.message.seen': { groupId: string; userId: string; seq: number };
	typing: { groupId: string; userId: string; typing: boolean };
	'user.presence': Presence;
	'group.created': GroupBase;
	'group.updated': GroupBase;
	'group.member.added': { groupId: string; group: GroupBase; userIds: string[] };
	'group.member.removed': { groupId: string; userId: string; group: GroupBase };
	'auth.expired': void;
}

/** Requests the client sends, with the payload and the ack's extra fields. */
export interface ClientRequests {
	'chat.message.send': {
		payload: { groupId: string; content: string; clientMessageId: string; attachments?: { assetId: string }[] };
		result: { message: Message };
	};
	'chat.message.delivered': { payload: { groupId: string; seq: number }; result: object };
	'chat.message.seen': { payload: { groupId: string; seq: number }; result: object };
	'typing.start': { payload: { groupId: string }; result: object };
	'typing.stop': { payload: { groupId: string }; result: object };
	'user.heartbeat': { payload: { status?: Exclude<PresenceStatus, 'offline'> }; result: object };
	'chat.sync': { payload: { cursors: Record<string, number> }; result: { items: SyncItem[] } };
	'auth.refresh': { payload: { token: string }; result: object };
	'presence.query': { payload: { userIds: string[] }; result: { items: Presence[] } };
}
