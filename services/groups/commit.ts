import type { Group, MemberRole } from "../../contract/groups.ts";
import { cacheKey } from "../../lib/cache-keys.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { outboxUpdate } from "../../lib/outbox.ts";
import type { UserContext } from "../../lib/session.ts";
import { groupChange, streamedChange, type ChangeDetails, type GroupChanges, type GroupChangeType } from "./changes.ts";
import type { GroupDoc, MembershipDoc } from "./documents.ts";
import type { GroupsState } from "./groups.service.ts";
import { viewsOf } from "./views.ts";

/** How the groups service's actions load a group, show it to the caller and record a change of it. */

export async function groupOf(svc: GroupsState, id: string): Promise<GroupDoc> {
	const group = await svc.db.groups.findById(id);
	if (!group) throw notFound("Conversation");
	return group;
}

/** Every change of one group goes to one node (the one holding its lock): the actions' balancing. */
export const byGroup = { strategy: "Shard", strategyOptions: { shardKey: "id" } } as const;

/**
 * Runs a change of the group under its lock (change-lock.ts), with the caller's membership and the group as
 * they are now: ConversationAccess checked `policy` before the wait, on a cached answer that an earlier change
 * in the queue may have made wrong (the caller removed, demoted, no longer the owner), so it is checked again here.
 */
export function changeOf<T>(
	svc: GroupsState,
	ctx: UserContext,
	groupId: string,
	policy: { roles?: MemberRole[]; forbidden?: string },
	work: (caller: MembershipDoc, group: GroupDoc) => Promise<T>
): Promise<T> {
	return svc.changeLock.run(groupId, async () => {
		const caller = await svc.memberships.of(groupId, ctx.meta.user.id);
		if (!caller) throw notFound("Conversation");
		if (policy.roles && !policy.roles.includes(caller.role)) throw forbidden(policy.forbidden ?? "Your role in this conversation does not allow this");
		return work(caller, await groupOf(svc, groupId));
	});
}

/** The group as the caller sees it. */
export async function viewOf(svc: GroupsState, ctx: UserContext, group: GroupDoc): Promise<Group> {
	return (await viewsOf(svc.memberships, ctx, [group], ctx.meta.user.id))[0];
}

/** The cached answers that mention these members of the group. */
export function membersMoved(svc: GroupsState, groupId: string, userIds: string[]): Promise<void> {
	return svc.cleanCache(
		cacheKey("groups.membership", groupId, "*"),
		cacheKey("groups.memberIds", groupId),
		cacheKey("groups.notificationTargets", groupId),
		...userIds.map(u => cacheKey("groups.idsForUser", u))
	);
}

/**
 * Records a change of the group (its members are already written; `set` names new fields): one write of
 * the group with the change in its outbox, then the same change broadcast once `moved` members' caches are clean.
 */
export async function commitChange<T extends Exclude<GroupChangeType, "group.created">>(
	svc: GroupsState,
	ctx: UserContext,
	group: GroupDoc,
	type: T,
	details: ChangeDetails<T>,
	moved: string[],
	set: Partial<Pick<GroupDoc, "name" | "avatarAssetId" | "avatarUrl">> = {}
): Promise<{ updated: GroupDoc; change: GroupChanges[T] }> {
	const $set = { ...set, updatedAt: new Date() };
	const change = groupChange<T>({ ...group, ...$set }, await svc.memberships.inGroup(group._id), ctx.meta.user.id, details);
	const event = svc.outboxEvent(type, group._id, streamedChange<T>(change), $set.updatedAt);
	const updated = (await svc.db.groups.updateById(group._id, { $set, ...outboxUpdate(event) }))!;
	if (moved.length) await membersMoved(svc, group._id, moved);
	else await svc.cleanCache(cacheKey("groups.notificationTargets", group._id));
	ctx.broadcast(type, change);
	return { updated, change };
}
