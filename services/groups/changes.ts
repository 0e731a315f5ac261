import type { GroupChange, MemberRemoved, MembersAdded } from "../../contract/groups.ts";
import type { EventPayloads } from "../../lib/outbox.ts";
import { toGroupBase, type GroupDoc, type MemberEntry } from "./documents.ts";

/** Every change of a conversation, by event name: what the broadcast carries. */
export interface GroupChanges {
	"group.created": GroupChange;
	"group.updated": GroupChange;
	"group.member.added": MembersAdded;
	"group.member.removed": MemberRemoved;
}

export type GroupChangeType = keyof GroupChanges;

/** What a change carries beyond the conversation itself (who was added or removed). */
export type ChangeDetails<T extends GroupChangeType> = Omit<GroupChanges[T], keyof GroupChange>;

/** The conversation as the change leaves it, built once for both the broadcast and the stream. */
export function groupChange<T extends GroupChangeType>(
	group: GroupDoc,
	memberships: MemberEntry[],
	actorId: string,
	details: ChangeDetails<T>
): GroupChanges[T] {
	const base = toGroupBase(group, memberships);
	return { groupId: group._id, ...details, group: base, memberIds: base.members.map(m => m.userId), actorId } as GroupChanges[T];
}

/** The stream's payload: the same, without the groupId its envelope already names. */
export function streamedChange<T extends GroupChangeType>(change: GroupChanges[T]): EventPayloads[T] {
	const { groupId: _groupId, ...payload } = change;
	return payload as unknown as EventPayloads[T];
}
