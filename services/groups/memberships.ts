import type { Context } from "moleculer";
import type { MemberRole } from "../../contract/groups.ts";
import type { User } from "../../contract/users.ts";
import { DuplicateKeyError, type Collection } from "../../mixins/db.mixin.ts";
import { invalidField } from "../../lib/errors.ts";
import { membershipId, type MembershipDoc } from "./documents.ts";
import type { StoredNotifications } from "./notifications.ts";

/** Only existing users can become members; `field` names the param that listed them. */
export async function assertUsersExist(ctx: Context, userIds: string[], field: string): Promise<void> {
	if (userIds.length === 0) return;
	const users = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids: userIds });
	if (users.length !== new Set(userIds).size) throw invalidField(field, `The '${field}' field names a user that does not exist.`);
}

/** Who inherits ownership from the last owner: the longest-standing admin, else the longest-standing member. */
export function heirOf(remaining: MembershipDoc[]): MembershipDoc | undefined {
	const bySeniority = [...remaining].sort((a, b) => new Date(a.joinedAt).getTime() - new Date(b.joinedAt).getTime());
	return bySeniority.find(m => m.role === "admin") ?? bySeniority[0];
}

/** The members of every conversation, one document per member. */
export class Memberships {
	private readonly memberships: Collection<MembershipDoc>;

	constructor(memberships: Collection<MembershipDoc>) {
		this.memberships = memberships;
	}

	of(groupId: string, userId: string): Promise<MembershipDoc | null> {
		return this.memberships.findById(membershipId(groupId, userId));
	}

	inGroup(groupId: string): Promise<MembershipDoc[]> {
		return this.memberships.find({ groupId });
	}

	inGroups(groupIds: string[]): Promise<MembershipDoc[]> {
		return this.memberships.find({ groupId: { $in: groupIds } });
	}

	ofUser(userId: string): Promise<MembershipDoc[]> {
		return this.memberships.find({ userId });
	}

	/** Returns the users who were not members yet. */
	async add(groupId: string, userIds: string[], role: MemberRole, addedBy: string): Promise<string[]> {
		const added: string[] = [];
		const joinedAt = new Date();
		for (const userId of userIds) {
			try {
				await this.memberships.insert({ _id: membershipId(groupId, userId), groupId, userId, role, joinedAt, addedBy });
				added.push(userId);
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
			}
		}
		return added;
	}

	/** `role` is the one the leaving member had: when the last owner goes, ownership passes on (see heirOf). */
	/** Returns the member who became owner, when the last owner went. */
	async remove(groupId: string, userId: string, role: MemberRole): Promise<string | null> {
		await this.memberships.removeById(membershipId(groupId, userId));
		return role === "owner" ? this.passOwnership(groupId) : null;
	}

	/** A group left without an owner gets its heir as owner: returns them (null when it has an owner, or nobody). */
	async passOwnership(groupId: string): Promise<string | null> {
		if ((await this.memberships.count({ groupId, role: "owner" })) > 0) return null;
		const heir = heirOf(await this.inGroup(groupId));
		if (!heir) return null;
		await this.memberships.updateById(heir._id, { $set: { role: "owner" } });
		return heir.userId;
	}

	setNotifications(groupId: string, userId: string, notifications: StoredNotifications): Promise<MembershipDoc | null> {
		return this.memberships.updateById(membershipId(groupId, userId), { $set: { notifications } });
	}

	/** Handing ownership on makes the previous owner an admin. */
	async setRole(groupId: string, userId: string, role: MemberRole, ownerId: string): Promise<void> {
		await this.memberships.updateById(membershipId(groupId, userId), { $set: { role } });
		if (role === "owner") await this.memberships.updateById(membershipId(groupId, ownerId), { $set: { role: "admin" } });
	}
}
