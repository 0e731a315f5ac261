import type { Context } from "moleculer";
import type { GroupAddPolicy, User } from "../../contract/users.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import { conflict, MoleculerClientError } from "../../lib/errors.ts";
import type { GroupDoc, MembershipDoc } from "./documents.ts";

export interface GroupLimits {
	maxMembers: number;
	maxGroupsPerUser: number;
}

export interface AdmissionOptions {
	groups: Pick<Collection<GroupDoc>, "find">;
	memberships: Pick<Collection<MembershipDoc>, "find">;
	limits: GroupLimits;
}

/**
 * Who may be put into a group, checked before anything is written: each user's "who may add me" setting,
 * the group's size and each user's number of groups. Direct conversations are not groups: they count
 * against neither limit and are not subject to the setting.
 */
export class Admission {
	private readonly options: AdmissionOptions;

	constructor(options: AdmissionOptions) {
		this.options = options;
	}

	/** Throws 403 naming the users who do not let `actorId` add them, 409 when a limit would be exceeded. */
	async check(ctx: Context, actorId: string, newUserIds: string[], currentMembers: number): Promise<void> {
		const { maxMembers } = this.options.limits;
		if (currentMembers + newUserIds.length > maxMembers)
			throw conflict(`A group has at most ${maxMembers} members`, "GROUP_MEMBER_LIMIT", { limit: maxMembers });
		const others = newUserIds.filter(id => id !== actorId);
		await this.assertAllowed(ctx, actorId, others);
		await this.assertRoomForGroups(newUserIds);
	}

	private async assertAllowed(ctx: Context, actorId: string, userIds: string[]): Promise<void> {
		if (userIds.length === 0) return;
		const policies = await ctx.call<{ id: string; allowGroupAddsFrom: GroupAddPolicy }[], { ids: string[] }>("users.groupAddPolicies", { ids: userIds });
		const contactsOnly = policies.filter(p => p.allowGroupAddsFrom === "contacts").map(p => p.id);
		if (contactsOnly.length === 0) return;
		const contacts = await this.contactsOf(actorId, contactsOnly);
		const refused = contactsOnly.filter(id => !contacts.has(id));
		if (refused.length === 0) return;
		const users = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids: refused });
		const names = users.map(u => u.username).join(", ");
		const message = `${names} only ${refused.length === 1 ? "lets" : "let"} people they already talk with add them to groups`;
		throw new MoleculerClientError(message, 403, "GROUP_ADD_NOT_ALLOWED", { userIds: refused });
	}

	/**
	 * Those of `userIds` who share a conversation with `actorId` that `actorId` did not put them in: a group
	 * or direct conversation someone made with a stranger makes no contact of the stranger.
	 */
	async contactsOf(actorId: string, userIds: string[]): Promise<Set<string>> {
		const { memberships } = this.options;
		const actorGroupIds = (await memberships.find({ userId: actorId })).map(m => m.groupId);
		if (actorGroupIds.length === 0) return new Set();
		const shared = await memberships.find({ userId: { $in: userIds }, groupId: { $in: actorGroupIds } });
		return new Set(shared.filter(m => m.addedBy !== actorId).map(m => m.userId));
	}

	private async assertRoomForGroups(userIds: string[]): Promise<void> {
		if (userIds.length === 0) return;
		const { memberships, groups, limits } = this.options;
		const held = await memberships.find({ userId: { $in: userIds } });
		const groupIds = [...new Set(held.map(m => m.groupId))];
		// Only groups count: direct conversations are left out by type.
		const counted = new Set(groupIds.length ? (await groups.find({ _id: { $in: groupIds }, type: "group" })).map(g => g._id) : []);
		const perUser = new Map<string, number>();
		for (const m of held) if (counted.has(m.groupId)) perUser.set(m.userId, (perUser.get(m.userId) ?? 0) + 1);
		const full = userIds.filter(id => (perUser.get(id) ?? 0) >= limits.maxGroupsPerUser);
		if (full.length)
			throw conflict(`A user can be in at most ${limits.maxGroupsPerUser} groups`, "GROUP_LIMIT_REACHED", { userIds: full, limit: limits.maxGroupsPerUser });
	}
}
