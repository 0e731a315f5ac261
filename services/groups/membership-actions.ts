import type { ActionSchema, Service, ServiceSchema } from "moleculer";
import type { Group, GroupBase, MemberRole } from "../../contract/groups.ts";
import { forbidden, notFound } from "../../lib/errors.ts";
import { idList, idParam, params } from "../../lib/params.ts";
import { membershipOf, type MemberContext } from "../../lib/session.ts";
import { byGroup, changeOf, commitChange, viewOf } from "./commit.ts";
import type { GroupsState } from "./groups.service.ts";
import { assertUsersExist } from "./memberships.ts";
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
		return changeOf(this, ctx, ctx.params.id, adminsAdd, async (_caller, group) => {
			const current = await this.memberships.inGroup(group._id);
			const present = new Set(current.map(m => m.userId));
			const joining = [...new Set(ctx.params.userIds)].filter(id => !present.has(id));
			const added = await this.changeLock.runForUsers(joining, async () => {
				await this.admission.check(ctx, ctx.meta.user.id, joining, current.length);
				return this.memberships.add(group._id, joining, "member", ctx.meta.user.id);
			});
			if (!added.length) return viewOf(this, ctx, group);
			// The line first: the new members' cursors then start after it, so they join caught up.
			await noteInTimeline(ctx, this.logger, group._id, { type: "members.added", userIds: added });
			await ctx.call("messages.membersChanged", { groupId: group._id, added, removed: [] });
			const { updated } = await commitChange(this, ctx, group, "group.member.added", { userIds: added }, added);
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
		const leaving = userId === ctx.meta.user.id;
		return changeOf(this, ctx, ctx.params.id, {}, async (caller, group) => {
			let removedRole = caller.role;
			if (!leaving) {
				if (caller.role === "member") throw forbidden("Only the owner or an admin can remove members");
				const target = await this.memberships.of(group._id, userId);
				if (!target) throw notFound("Member");
				if (caller.role === "admin" && target.role !== "member") throw forbidden("An admin can remove members, not admins or the owner");
				removedRole = target.role;
			}
			const heir = await this.memberships.remove(group._id, userId, removedRole);
			await ctx.call("messages.membersChanged", { groupId: group._id, added: [], removed: [userId] });
			const { updated, change } = await commitChange(this, ctx, group, "group.member.removed", { userId }, [userId]);
			await noteInTimeline(ctx, this.logger, group._id, leaving ? { type: "member.left" } : { type: "member.removed", userId });
			// The hand-over is a change of its own, by whoever left: members see who owns the group now.
			if (heir) await noteInTimeline(ctx, this.logger, group._id, { type: "role.changed", userId: heir, role: "owner" });
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
			await this.memberships.setRole(group._id, userId, role, me.id);
			const { updated } = await commitChange(this, ctx, group, "group.updated", {}, [me.id, userId]);
			await noteInTimeline(ctx, this.logger, group._id, { type: "role.changed", userId, role });
			return viewOf(this, ctx, updated);
		});
	}
};

/** Who is in a group and with which role (memberships.ts, admission.ts). Mixed into the groups service. */
export const GroupsMembershipActions: Partial<ServiceSchema<any, any, any>> = { actions: { addMembers, removeMember, setRole } };
