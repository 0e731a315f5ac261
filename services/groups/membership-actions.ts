import type { ActionSchema, Service, ServiceSchema } from "moleculer";
import type { Group, GroupBase, MemberRole } from "../../contract/groups.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { idList, idParam, params } from "../../lib/params.ts";
import { membershipOf, type MemberContext } from "../../lib/session.ts";
import { byGroup, changeOf, commitChange, membersMoved, recordChange, viewOf } from "./commit.ts";
import type { GroupsState } from "./groups.service.ts";
import { assertUsersExist } from "./memberships.ts";
import { beginMove, endMove, followUp } from "./moves.ts";
import { noteInTimeline } from "./system-lines.ts";

type GroupsThis = Service & GroupsState;

const adminsAdd = { roles: ["owner", "admin"], forbidden: "Only the owner or an admin can add members" } satisfies { roles: MemberRole[]; forbidden: string };
const ownerSetsRoles = { roles: ["owner"], forbidden: "Only the owner can change roles" } satisfies { roles: MemberRole[]; forbidden: string };

const addMembers: ActionSchema<GroupsThis> = {
	auth: "required",
	conversation: { param: "id", ...adminsAdd },
	...byGroup,
	params: params({ id: idParam, userIds: idList(1000, 1) }),
	async handler(ctx: MemberContext<{ id: string; userIds: string[] }>): Promise<Group> {
		if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have fixed members");
		await assertUsersExist(ctx, ctx.params.userIds, "userIds");
		const me = ctx.meta.user.id;
		return changeOf(this, ctx, ctx.params.id, adminsAdd, async (_caller, group) => {
			const current = await this.memberships.inGroup(group._id);
			const present = new Set(current.map(m => m.userId));
			const joining = [...new Set(ctx.params.userIds)].filter(id => !present.has(id));
			const { moveId, added } = await this.changeLock.runForUsers(joining, async () => {
				await this.admission.check(ctx, me, joining, current.length);
				if (!joining.length) return { moveId: null, added: [] };
				const moveId = await beginMove(this, group, "group.member.added", joining, me);
				try {
					return { moveId, added: await this.memberships.add(group._id, joining, "member", me) };
				} finally {
					await membersMoved(this, group._id, joining);
				}
			});
			if (!moveId) return viewOf(this, ctx, group);
			if (!added.length) {
				await endMove(this, group._id, moveId);
				return viewOf(this, ctx, group);
			}
			// The line first: the new members' cursors then start after it, so they join caught up.
			await noteInTimeline(ctx, this.logger, group._id, { type: "members.added", userIds: added });
			// Cursors before the event, which tells clients to show the conversation: they show it without a backlog.
			const done = await followUp(this, ctx, group._id, added, []);
			const { updated } = await recordChange(this, ctx, me, group, "group.member.added", { userIds: added }, { move: { id: moveId, done } });
			return viewOf(this, ctx, updated);
		});
	}
};

/** Removing yourself is leaving. The last owner who leaves hands ownership to the longest-standing admin, else member. */
const removeMember: ActionSchema<GroupsThis> = {
	auth: "required",
	conversation: { param: "id" },
	...byGroup,
	params: params({ id: idParam, userId: idParam }),
	async handler(ctx: MemberContext<{ id: string; userId: string }>): Promise<Group | GroupBase> {
		if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have fixed members");
		const { userId } = ctx.params;
		const me = ctx.meta.user.id;
		const leaving = userId === me;
		return changeOf(this, ctx, ctx.params.id, {}, async (caller, group, settled) => {
			let removedRole = caller.role;
			if (!leaving) {
				if (caller.role === "member") throw forbidden("Only the owner or an admin can remove members");
				const target = await this.memberships.of(group._id, userId);
				if (!target) {
					// A retry of this removal, cut off before all of it was done: changeOf just completed it.
					const retried = settled.some(m => m.type === "group.member.removed" && m.actorId === me && m.userIds.includes(userId));
					if (retried) return viewOf(this, ctx, group);
					throw notFound("Member");
				}
				if (caller.role === "admin" && target.role !== "member") throw forbidden("An admin can remove members, not admins or the owner");
				removedRole = target.role;
			}
			const moveId = await beginMove(this, group, "group.member.removed", [userId], me);
			let heir: string | null;
			try {
				heir = await this.memberships.remove(group._id, userId, removedRole);
			} finally {
				await membersMoved(this, group._id, [userId]);
			}
			const { updated, change } = await recordChange(this, ctx, me, group, "group.member.removed", { userId }, { move: { id: moveId, done: false } });
			await noteInTimeline(ctx, this.logger, group._id, leaving ? { type: "member.left" } : { type: "member.removed", userId });
			// The hand-over is a change of its own, by whoever left: members see who owns the group now.
			if (heir) await noteInTimeline(ctx, this.logger, group._id, { type: "role.changed", userId: heir, role: "owner" });
			// The cursor goes last: nothing the removed member could still reach waits for it.
			if (await followUp(this, ctx, group._id, [], [userId])) await endMove(this, group._id, moveId);
			return leaving ? change.group : viewOf(this, ctx, updated);
		});
	}
};

/** The owner makes members admins (or back), or hands ownership on with role "owner". */
const setRole: ActionSchema<GroupsThis> = {
	auth: "required",
	conversation: { param: "id", ...ownerSetsRoles },
	...byGroup,
	params: params({ id: idParam, userId: idParam, role: { type: "enum", values: ["owner", "admin", "member"] } }),
	async handler(ctx: MemberContext<{ id: string; userId: string; role: MemberRole }>): Promise<Group> {
		const me = ctx.meta.user;
		const { userId, role } = ctx.params;
		if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have no roles");
		if (userId === me.id) throw forbidden("Hand ownership to another member instead of changing your own role");
		return changeOf(this, ctx, ctx.params.id, ownerSetsRoles, async (_caller, group) => {
			const target = await this.memberships.of(group._id, userId);
			if (!target) throw notFound("Member");
			// The same role again changes nothing: no event, no line.
			if (target.role === role) return viewOf(this, ctx, group);
			try {
				await this.memberships.setRole(group._id, userId, role, me.id);
			} finally {
				await membersMoved(this, group._id, [me.id, userId]);
			}
			const { updated } = await commitChange(this, ctx, group, "group.updated", {});
			await noteInTimeline(ctx, this.logger, group._id, { type: "role.changed", userId, role });
			return viewOf(this, ctx, updated);
		});
	}
};

/** Who is in a group and with which role (memberships.ts, admission.ts). Mixed into the groups service. */
export const GroupsMembershipActions: Partial<ServiceSchema<any, any, any>> = { actions: { addMembers, removeMember, setRole } };
