import type { Logger } from "moleculer";
import { newId } from "../../lib/ids.ts";
import { membersMoved, recordChange, type ChangeIo } from "./commit.ts";
import type { GroupDoc, UnsettledMove } from "./documents.ts";
import type { GroupsState } from "./groups.service.ts";

/**
 * A change of who is in a group has steps beyond its memberships: the cached answers that name those
 * members, the change's event (in the group's outbox, and broadcast: sockets move rooms on it) and the
 * messages side (new members' cursors start at the end, a removed member's goes). None of them may be left
 * undone by the failure of another: the caches are cleaned right after the memberships are written, even
 * when that write fails; the messages side is a follow-up, tried a few times, that holds nothing else up.
 * The change is written on the group (`unsettled`) before its memberships are, and taken off once every
 * step is done: whatever a failure (or a crash) left undone, a retry of the change, the group's next change
 * or this node trying again later (Settler) completes (settle).
 */

export type MoveType = UnsettledMove["type"];

/** Tries of the messages side, each given this long, with a pause between them that doubles. */
const FOLLOW_UP_TRIES = 3;
const FOLLOW_UP_TIMEOUT_MS = 3000;
const FOLLOW_UP_PAUSE_MS = 100;

/** The group's unfinished moves, oldest first. */
export function pendingMoves(group: GroupDoc): [string, UnsettledMove][] {
	return Object.entries(group.unsettled ?? {})
		.filter(([, move]) => move?.type && Array.isArray(move.userIds))
		.sort(([, a], [, b]) => new Date(a.at).getTime() - new Date(b.at).getTime());
}

/** A new move (not recorded yet, except a creation: its event is in the group's first write). */
export function newMove(type: MoveType, userIds: string[], actorId: string): { id: string; move: UnsettledMove } {
	return { id: newId(), move: { type, userIds, actorId, recorded: type === "group.created", at: new Date() } };
}

/**
 * Writes the move on the group, before its memberships are written. An older move still waiting for the
 * messages side of some of these users gives them up: this one's follow-up sets their cursors anew.
 */
export async function beginMove(svc: GroupsState, group: GroupDoc, type: MoveType, userIds: string[], actorId: string): Promise<string> {
	const { id, move } = newMove(type, userIds, actorId);
	const $set: Record<string, unknown> = { [`unsettled.${id}`]: move };
	const $unset: Record<string, true> = {};
	for (const [otherId, other] of pendingMoves(group)) {
		const rest = other.userIds.filter(u => !userIds.includes(u));
		if (rest.length === other.userIds.length) continue;
		if (rest.length) $set[`unsettled.${otherId}.userIds`] = rest;
		else $unset[`unsettled.${otherId}`] = true;
	}
	await svc.db.groups.updateById(group._id, Object.keys($unset).length ? { $set, $unset } : { $set });
	return id;
}

/** The move is done: off the group. */
export async function endMove(svc: GroupsState, groupId: string, id: string): Promise<void> {
	await svc.db.groups.updateById(groupId, { $unset: { [`unsettled.${id}`]: true } });
}

/**
 * The messages side of a move (`messages.membersChanged`, which may run twice), tried FOLLOW_UP_TRIES
 * times; false, logged, when every try failed: the move stays on the group and this node tries it again later.
 */
export async function followUp(svc: GroupsState, io: Pick<ChangeIo, "call">, groupId: string, added: string[], removed: string[]): Promise<boolean> {
	if (added.length === 0 && removed.length === 0) return true;
	for (let attempt = 1; ; attempt++) {
		try {
			await io.call("messages.membersChanged", { groupId, added, removed }, { timeout: FOLLOW_UP_TIMEOUT_MS });
			return true;
		} catch (err) {
			if (attempt >= FOLLOW_UP_TRIES) {
				svc.logger.warn(`The members' cursors of conversation ${groupId} could not be set yet; trying again later`, err);
				svc.settler.later(groupId);
				return false;
			}
			await new Promise(resolve => setTimeout(resolve, FOLLOW_UP_PAUSE_MS * 2 ** (attempt - 1)));
		}
	}
}

/**
 * Completes the group's unfinished moves, oldest first, from what the memberships say now: a removal
 * whose user is still a member never happened (its write failed) and is dropped, as is an addition whose
 * users are not members. Store and cache failures throw (the move stays); a follow-up that fails again
 * stays for later (`pending`). Returns the group as it is then, and the moves as they were.
 */
export async function settle(svc: GroupsState, io: ChangeIo, group: GroupDoc): Promise<{ group: GroupDoc; settled: UnsettledMove[]; pending: boolean }> {
	const moves = pendingMoves(group);
	let pending = false;
	for (const [id, move] of moves) if (!(await settleMove(svc, io, group, id, move))) pending = true;
	return { group: (await svc.db.groups.findById(group._id)) ?? group, settled: moves.map(([, move]) => move), pending };
}

/** Whether the move is done now. */
async function settleMove(svc: GroupsState, io: ChangeIo, group: GroupDoc, id: string, move: UnsettledMove): Promise<boolean> {
	const members = new Set((await svc.memberships.inGroup(group._id)).map(m => m.userId));
	const removal = move.type === "group.member.removed";
	const users = move.userIds.filter(u => members.has(u) !== removal);
	if (users.length === 0) {
		await endMove(svc, group._id, id);
		return true;
	}
	// A hand-over that the removal of the last owner did not get to (its line is not written now).
	if (removal && group.type === "group") await svc.memberships.passOwnership(group._id);
	await membersMoved(svc, group._id, users);
	if (removal) {
		// A removal moves one member.
		if (!move.recorded) await recordChange(svc, io, move.actorId, group, "group.member.removed", { userId: users[0] }, { move: { id, done: false } });
		const done = await followUp(svc, io, group._id, [], users);
		if (done) await endMove(svc, group._id, id);
		return done;
	}
	const done = await followUp(svc, io, group._id, users, []);
	if (!move.recorded) await recordChange(svc, io, move.actorId, group, "group.member.added", { userIds: users }, { move: { id, done } });
	else if (done) await endMove(svc, group._id, id);
	return done;
}

/**
 * Runs steps of a change that may leave a move unfinished when they fail (a store or cache error): this
 * node then tries the group's moves again later, for the caller may never retry. A refusal (4xx) wrote nothing.
 */
export async function settlingOnFailure<T>(svc: GroupsState, groupId: string, steps: () => Promise<T>): Promise<T> {
	try {
		return await steps();
	} catch (err) {
		const code = (err as { code?: unknown }).code;
		if (!(typeof code === "number" && code >= 400 && code < 500)) svc.settler.later(groupId);
		throw err;
	}
}

/** After 1 s, 5 s, 30 s, 2 min and 10 min: then a group's next change or a retry of its move is what completes it. */
const SETTLE_AFTER_MS = [1000, 5000, 30_000, 120_000, 600_000];

/** This node trying a group's unfinished moves again (settle under the group's lock), a few times with growing pauses. */
export class Settler {
	private readonly timers = new Map<string, NodeJS.Timeout>();
	private readonly tries = new Map<string, number>();
	private readonly run: (groupId: string) => Promise<boolean>;
	private readonly logger: Pick<Logger, "warn">;
	private stopped = false;

	/** `run` settles the group and tells whether it has nothing pending left. */
	constructor(run: (groupId: string) => Promise<boolean>, logger: Pick<Logger, "warn">) {
		this.run = run;
		this.logger = logger;
	}

	later(groupId: string): void {
		if (this.stopped || this.timers.has(groupId)) return;
		const tries = this.tries.get(groupId) ?? 0;
		if (tries >= SETTLE_AFTER_MS.length) {
			this.tries.delete(groupId);
			this.logger.warn(`Conversation ${groupId} keeps a member change unfinished; its next change completes it`);
			return;
		}
		const timer = setTimeout(() => {
			this.timers.delete(groupId);
			this.tries.set(groupId, tries + 1);
			this.run(groupId).then(
				settled => settled && this.tries.delete(groupId),
				err => {
					this.logger.warn(`Could not complete the member changes of conversation ${groupId}`, err);
					this.later(groupId);
				}
			);
		}, SETTLE_AFTER_MS[tries]);
		timer.unref();
		this.timers.set(groupId, timer);
	}

	stop(): void {
		this.stopped = true;
		for (const timer of this.timers.values()) clearTimeout(timer);
		this.timers.clear();
	}
}
