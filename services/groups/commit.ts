import type { CallingOptions } from "moleculer";
import type { Group, MemberRole } from "../../contract/groups.ts";
import { cacheKey } from "../../lib/cache-keys.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { outboxUpdate } from "../../lib/outbox.ts";
import type { UserContext } from "../../lib/session.ts";
import { groupChange, streamedChange, type ChangeDetails, type GroupChanges, type GroupChangeType } from "./changes.ts";
import type { GroupDoc, MembershipDoc, UnsettledMove } from "./documents.ts";
import type { Door } from "./door-cache.ts";
import type { GroupsState } from "./groups.service.ts";
import { pendingMoves, settle, settlingOnFailure } from "./moves.ts";
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
 * Member changes an earlier try left unfinished are completed first (moves.ts); `work` gets them, as they were.
 */
export function changeOf<T>(
	svc: GroupsState,
	ctx: UserContext,
	groupId: string,
	policy: { roles?: MemberRole[]; forbidden?: string },
	work: (caller: MembershipDoc, group: GroupDoc, settled: UnsettledMove[]) => Promise<T>
): Promise<T> {
	return svc.changeLock.run(groupId, () =>
		settlingOnFailure(svc, groupId, async () => {
			let group = await groupOf(svc, groupId);
			let settled: UnsettledMove[] = [];
			if (pendingMoves(group).length) ({ group, settled } = await settle(svc, ctx, group));
			const caller = await svc.memberships.of(groupId, ctx.meta.user.id);
			if (!caller) throw notFound("Conversation");
			if (policy.roles && !policy.roles.includes(caller.role)) throw forbidden(policy.forbidden ?? "Your role in this conversation does not allow this");
			return work(caller, group, settled);
		})
	);
}

/** The group as the caller sees it. */
export async function viewOf(svc: GroupsState, ctx: UserContext, group: GroupDoc): Promise<Group> {
	return (await viewsOf(svc.memberships, ctx, [group], ctx.meta.user.id))[0];
}

/** The groups service's cached doors (groups.service.ts), each with the guard its writers clean it by (door-cache.ts). */
export const DOORS = {
	membership: (groupId: string, userId: string): Door => ({
		key: cacheKey("groups.membership", groupId, userId),
		guard: cacheKey("groups.membership", groupId, "*")
	}),
	memberIds: (groupId: string): Door => exactly(cacheKey("groups.memberIds", groupId)),
	notificationTargets: (groupId: string): Door => exactly(cacheKey("groups.notificationTargets", groupId)),
	idsForUser: (userId: string): Door => exactly(cacheKey("groups.idsForUser", userId))
};

function exactly(key: string): Door {
	return { key, guard: key };
}

/** Cleans the cached answers that mention these members of the group: right after their memberships are written, whatever happens next. */
export function membersMoved(svc: GroupsState, groupId: string, userIds: string[]): Promise<void> {
	return svc.doorCache.clean([
		DOORS.membership(groupId, "*").guard,
		DOORS.memberIds(groupId).guard,
		DOORS.notificationTargets(groupId).guard,
		...userIds.map(u => DOORS.idsForUser(u).guard)
	]);
}

/** What broadcasts a change and calls other services for it: the request's context, or the broker (moves.ts, settling later). */
export interface ChangeIo {
	call<R, P>(action: string, params?: P, opts?: CallingOptions): Promise<R>;
	broadcast<D>(event: string, data?: D): Promise<void>;
}

/**
 * Records a change of the group (its members are already written; `set` names new fields): one write of
 * the group with the change in its outbox (and the state of the member change `move`, moves.ts), then the
 * same change broadcast once `clean` is clean. The clean runs whether the write succeeds or not.
 */
export async function recordChange<T extends Exclude<GroupChangeType, "group.created">>(
	svc: GroupsState,
	io: Pick<ChangeIo, "broadcast">,
	actorId: string,
	group: GroupDoc,
	type: T,
	details: ChangeDetails<T>,
	options: { set?: Partial<Pick<GroupDoc, "name" | "avatarAssetId" | "avatarUrl">>; clean?: string[]; move?: { id: string; done: boolean } } = {}
): Promise<{ updated: GroupDoc; change: GroupChanges[T] }> {
	const { set = {}, clean = [], move } = options;
	const updatedAt = new Date();
	const change = groupChange<T>({ ...group, ...set, updatedAt }, await svc.memberships.inGroup(group._id), actorId, details);
	const event = svc.outboxEvent(type, group._id, streamedChange<T>(change), updatedAt);
	const $set: Record<string, unknown> = { ...set, updatedAt };
	if (move && !move.done) $set[`unsettled.${move.id}.recorded`] = true;
	const update = { $set, ...(move?.done ? { $unset: { [`unsettled.${move.id}`]: true } } : {}), ...outboxUpdate(event) };
	let updated: GroupDoc | null;
	try {
		updated = await svc.db.groups.updateById(group._id, update);
	} finally {
		await svc.doorCache.clean(clean);
	}
	io.broadcast(type, change);
	return { updated: updated!, change };
}

/** A change of the group itself (name, picture, roles) by the caller, recorded and broadcast (recordChange). */
export function commitChange<T extends Exclude<GroupChangeType, "group.created">>(
	svc: GroupsState,
	ctx: UserContext,
	group: GroupDoc,
	type: T,
	details: ChangeDetails<T>,
	set: Partial<Pick<GroupDoc, "name" | "avatarAssetId" | "avatarUrl">> = {}
): Promise<{ updated: GroupDoc; change: GroupChanges[T] }> {
	return recordChange(svc, ctx, ctx.meta.user.id, group, type, details, { set, clean: [DOORS.notificationTargets(group._id).guard] });
}
