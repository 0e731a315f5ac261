import type { Context, ServiceSchema } from "moleculer";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../mixins/outbox.mixin.ts";
import { cachedBy, cacheKey } from "../lib/cache-keys.ts";
import { forbidden, invalidField, notFound } from "../lib/errors.ts";
import {
	canManageMembers,
	membershipId,
	type ConversationHead,
	type Group,
	type GroupBase,
	type GroupDoc,
	type MemberRole,
	type MembershipDoc
} from "../lib/groups.ts";
import { newId } from "../lib/ids.ts";
import { OUTBOX_INDEX, outboxFields, outboxUpdate, type OutboxFields } from "../lib/outbox.ts";
import { idList, idParam, params } from "../lib/params.ts";
import { requireUser, type SessionMeta } from "../lib/session.ts";
import type { User } from "../lib/users.ts";

type Ctx<P = {}> = Context<P, SessionMeta & { $statusCode?: number; $location?: string }>;

interface GroupsThis extends DbMethods, OutboxMethods {
	db: { groups: Collection<GroupDoc>; memberships: Collection<MembershipDoc> };
	loadVisible(ctx: Ctx, groupId: string, userId: string): Promise<{ group: GroupDoc; role: MemberRole }>;
	toBase(group: GroupDoc, memberships: MembershipDoc[]): GroupBase;
	toGroups(ctx: Ctx, groups: GroupDoc[], userId: string): Promise<Group[]>;
	assertUsersExist(ctx: Ctx, userIds: string[], field: string): Promise<void>;
	addMemberships(ctx: Ctx, group: GroupDoc, userIds: string[], role: MemberRole): Promise<string[]>;
	membershipChanged(groupId: string, userIds: string[]): Promise<void>;
	baseOf(groupId: string): Promise<GroupBase>;
	createdOutbox(group: GroupDoc, members: [string, MemberRole][]): OutboxFields;
	updateGroup(groupId: string, $set: { name?: string; updatedAt: Date }, type: GroupChangeType, actorId: string, extra?: object): Promise<GroupDoc>;
}

type GroupChangeType = "group.updated" | "group.member.added" | "group.member.removed";

const nameParam = { type: "string", trim: true, min: 1, max: 100 } as const;

const GroupsService: ServiceSchema<{}, {}, GroupsThis> = {
	name: "groups",
	mixins: [
		DbCollections({
			groups: { indexes: [{ fields: { directKey: 1 }, unique: true, sparse: true }, OUTBOX_INDEX] },
			memberships: { indexes: [{ fields: { groupId: 1, joinedAt: 1 } }, { fields: { userId: 1 } }] }
		}),
		Outbox(["groups"])
	],

	actions: {
		/** A group (name + members) or a direct conversation (exactly one other user; asking again returns the existing one). */
		create: {
			params: params({
				// Direct conversations ignore the name (clients show the other person's), so "" is fine there.
				name: { type: "string", trim: true, max: 100, optional: true },
				memberIds: idList(1000),
				type: { type: "enum", values: ["group", "direct"], optional: true, default: "group" }
			}),
			async handler(ctx: Ctx<{ name?: string; memberIds: string[]; type: "group" | "direct" }>): Promise<Group> {
				const me = requireUser(ctx);
				const others = ctx.params.memberIds.filter(id => id !== me.id);
				const now = new Date();
				let group: GroupDoc;
				if (ctx.params.type === "direct") {
					if (others.length !== 1) throw invalidField("memberIds", "A direct conversation needs exactly one other user in 'memberIds'.");
					await this.assertUsersExist(ctx, others, "memberIds");
					const directKey = [me.id, others[0]].sort().join(":");
					const existing = await this.db.groups.findOne({ directKey });
					if (existing) return (await this.toGroups(ctx, [existing], me.id))[0];
					group = { _id: newId(), type: "direct", name: "", directKey, createdBy: me.id, createdAt: now, updatedAt: now };
					try {
						await this.db.groups.insert({ ...group, ...this.createdOutbox(group, [[me.id, "member"], [others[0], "member"]]) });
					} catch (err) {
						if (!(err instanceof DuplicateKeyError)) throw err;
						// The other user opened the same conversation at the same moment.
						const raced = (await this.db.groups.findOne({ directKey }))!;
						return (await this.toGroups(ctx, [raced], me.id))[0];
					}
					await this.addMemberships(ctx, group, [me.id, others[0]], "member");
				} else {
					if (!ctx.params.name) throw invalidField("name", "The 'name' field is required for a group.");
					await this.assertUsersExist(ctx, others, "memberIds");
					group = { _id: newId(), type: "group", name: ctx.params.name, createdBy: me.id, createdAt: now, updatedAt: now };
					await this.db.groups.insert({ ...group, ...this.createdOutbox(group, [[me.id, "owner"], ...others.map(id => [id, "member"] as [string, MemberRole])]) });
					await this.addMemberships(ctx, group, [me.id], "owner");
					await this.addMemberships(ctx, group, others, "member");
				}
				const base = await this.baseOf(group._id);
				ctx.broadcast("group.created", { groupId: group._id, group: base, memberIds: base.members.map(m => m.userId), actorId: me.id });
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/groups/${group._id}`;
				return (await this.toGroups(ctx, [group], me.id))[0];
			}
		},

		list: {
			async handler(ctx: Ctx): Promise<{ items: Group[] }> {
				const me = requireUser(ctx);
				const ids = await ctx.call<string[], { userId: string }>("groups.idsForUser", { userId: me.id });
				const groups = await this.db.groups.findByIds(ids);
				const items = await this.toGroups(ctx, groups, me.id);
				items.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt));
				return { items };
			}
		},

		get: {
			params: params({ id: idParam }),
			async handler(ctx: Ctx<{ id: string }>): Promise<Group> {
				const me = requireUser(ctx);
				const { group } = await this.loadVisible(ctx, ctx.params.id, me.id);
				return (await this.toGroups(ctx, [group], me.id))[0];
			}
		},

		update: {
			params: params({ id: idParam, name: nameParam }),
			async handler(ctx: Ctx<{ id: string; name: string }>): Promise<Group> {
				const me = requireUser(ctx);
				const { group, role } = await this.loadVisible(ctx, ctx.params.id, me.id);
				if (group.type === "direct") throw forbidden("Direct conversations have no name to change");
				if (!canManageMembers(role)) throw forbidden("Only the owner or an admin can rename the group");
				const updated = await this.updateGroup(group._id, { name: ctx.params.name, updatedAt: new Date() }, "group.updated", me.id);
				const base = await this.baseOf(group._id);
				ctx.broadcast("group.updated", { groupId: group._id, group: base, memberIds: base.members.map(m => m.userId), actorId: me.id });
				return (await this.toGroups(ctx, [updated], me.id))[0];
			}
		},

		addMembers: {
			params: params({ id: idParam, userIds: idList(1000, 1) }),
			async handler(ctx: Ctx<{ id: string; userIds: string[] }>): Promise<Group> {
				const me = requireUser(ctx);
				const { group, role } = await this.loadVisible(ctx, ctx.params.id, me.id);
				if (group.type === "direct") throw forbidden("Direct conversations have fixed members");
				if (!canManageMembers(role)) throw forbidden("Only the owner or an admin can add members");
				await this.assertUsersExist(ctx, ctx.params.userIds, "userIds");
				const added = await this.addMemberships(ctx, group, ctx.params.userIds, "member");
				if (added.length) {
					await this.updateGroup(group._id, { updatedAt: new Date() }, "group.member.added", me.id, { userIds: added });
					const base = await this.baseOf(group._id);
					ctx.broadcast("group.member.added", { groupId: group._id, userIds: added, group: base, memberIds: base.members.map(m => m.userId), actorId: me.id });
				}
				return (await this.toGroups(ctx, [group], me.id))[0];
			}
		},

		/** Removing yourself is leaving. The last owner who leaves hands ownership to the longest-standing admin, else member. */
		removeMember: {
			params: params({ id: idParam, userId: idParam }),
			async handler(ctx: Ctx<{ id: string; userId: string }>): Promise<Group | GroupBase> {
				const me = requireUser(ctx);
				const { group, role } = await this.loadVisible(ctx, ctx.params.id, me.id);
				if (group.type === "direct") throw forbidden("Direct conversations have fixed members");
				const leaving = ctx.params.userId === me.id;
				const target = leaving ? null : await this.db.memberships.findById(membershipId(group._id, ctx.params.userId));
				if (!leaving) {
					if (!canManageMembers(role)) throw forbidden("Only the owner or an admin can remove members");
					if (!target) throw notFound("Member");
					if (role === "admin" && target.role !== "member") throw forbidden("An admin can remove members, not admins or the owner");
				}
				const removedRole = leaving ? role : target!.role;
				await this.db.memberships.removeById(membershipId(group._id, ctx.params.userId));
				if (removedRole === "owner") {
					const owners = await this.db.memberships.count({ groupId: group._id, role: "owner" });
					if (owners === 0) {
						const remaining = await this.db.memberships.find({ groupId: group._id }, { sort: ["joinedAt"] });
						const heir = remaining.find(m => m.role === "admin") ?? remaining[0];
						if (heir) await this.db.memberships.updateById(heir._id, { $set: { role: "owner" } });
					}
				}
				await ctx.call("messages.dropCursors", { groupId: group._id, userId: ctx.params.userId });
				await this.updateGroup(group._id, { updatedAt: new Date() }, "group.member.removed", me.id, { userId: ctx.params.userId });
				await this.membershipChanged(group._id, [ctx.params.userId]);
				const base = await this.baseOf(group._id);
				ctx.broadcast("group.member.removed", {
					groupId: group._id,
					userId: ctx.params.userId,
					group: base,
					memberIds: base.members.map(m => m.userId),
					actorId: me.id
				});
				return leaving ? base : (await this.toGroups(ctx, [group], me.id))[0];
			}
		},

		/** The owner makes members admins (or back), or hands ownership on with role "owner". */
		setRole: {
			params: params({ id: idParam, userId: idParam, role: { type: "enum", values: ["owner", "admin", "member"] } }),
			async handler(ctx: Ctx<{ id: string; userId: string; role: MemberRole }>): Promise<Group> {
				const me = requireUser(ctx);
				const { group, role } = await this.loadVisible(ctx, ctx.params.id, me.id);
				if (group.type === "direct") throw forbidden("Direct conversations have no roles");
				if (role !== "owner") throw forbidden("Only the owner can change roles");
				if (ctx.params.userId === me.id) throw forbidden("Hand ownership to another member instead of changing your own role");
				const target = await this.db.memberships.findById(membershipId(group._id, ctx.params.userId));
				if (!target) throw notFound("Member");
				await this.db.memberships.updateById(target._id, { $set: { role: ctx.params.role } });
				if (ctx.params.role === "owner") await this.db.memberships.updateById(membershipId(group._id, me.id), { $set: { role: "admin" } });
				await this.updateGroup(group._id, { updatedAt: new Date() }, "group.updated", me.id);
				await this.membershipChanged(group._id, [me.id, ctx.params.userId]);
				const base = await this.baseOf(group._id);
				ctx.broadcast("group.updated", { groupId: group._id, group: base, memberIds: base.members.map(m => m.userId), actorId: me.id });
				return (await this.toGroups(ctx, [group], me.id))[0];
			}
		},

		/** The hot membership check of every send and receipt; cached, cleaned on every change. */
		membership: {
			visibility: "public",
			params: params({ groupId: idParam, userId: idParam }),
			cache: cachedBy("groupId", "userId"),
			async handler(ctx: Context<{ groupId: string; userId: string }>): Promise<{ role: MemberRole; groupType: GroupDoc["type"] } | null> {
				const membership = await this.db.memberships.findById(membershipId(ctx.params.groupId, ctx.params.userId));
				if (!membership) return null;
				const group = await this.db.groups.findById(ctx.params.groupId);
				return group ? { role: membership.role, groupType: group.type } : null;
			}
		},

		memberIds: {
			visibility: "public",
			params: params({ groupId: idParam }),
			cache: cachedBy("groupId"),
			async handler(ctx: Context<{ groupId: string }>): Promise<string[]> {
				return (await this.db.memberships.find({ groupId: ctx.params.groupId })).map(m => m.userId);
			}
		},

		idsForUser: {
			visibility: "public",
			params: params({ userId: idParam }),
			cache: cachedBy("userId"),
			async handler(ctx: Context<{ userId: string }>): Promise<string[]> {
				return (await this.db.memberships.find({ userId: ctx.params.userId })).map(m => m.groupId);
			}
		}
	},

	methods: {
		async loadVisible(ctx: Ctx, groupId: string, userId: string) {
			const membership = await ctx.call<{ role: MemberRole } | null, object>("groups.membership", { groupId, userId });
			const group = membership ? await this.db.groups.findById(groupId) : null;
			// Non-members get the same answer as for a group that does not exist.
			if (!membership || !group) throw notFound("Conversation");
			return { group, role: membership.role };
		},

		async assertUsersExist(ctx: Ctx, userIds: string[], field: string) {
			if (userIds.length === 0) return;
			const users = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids: userIds });
			if (users.length !== new Set(userIds).size) throw invalidField(field, `The '${field}' field names a user that does not exist.`);
		},

		async addMemberships(ctx: Ctx, group: GroupDoc, userIds: string[], role: MemberRole): Promise<string[]> {
			const added: string[] = [];
			const joinedAt = new Date();
			for (const userId of userIds) {
				const doc: MembershipDoc = { _id: membershipId(group._id, userId), groupId: group._id, userId, role, joinedAt };
				try {
					await this.db.memberships.insert(doc);
					added.push(userId);
				} catch (err) {
					if (!(err instanceof DuplicateKeyError)) throw err;
				}
			}
			if (added.length) {
				// New members start caught up: their unread count is what arrives after they join.
				await ctx.call("messages.initCursors", { groupId: group._id, userIds: added });
				await this.membershipChanged(group._id, added);
			}
			return added;
		},

		async membershipChanged(groupId: string, userIds: string[]) {
			await this.cleanCache(
				cacheKey("groups.membership", groupId, "*"),
				cacheKey("groups.memberIds", groupId),
				...userIds.map(u => cacheKey("groups.idsForUser", u))
			);
		},

		toBase(group: GroupDoc, memberships: MembershipDoc[]): GroupBase {
			const members = memberships
				.sort((a, b) => new Date(a.joinedAt).getTime() - new Date(b.joinedAt).getTime())
				.map(m => ({ userId: m.userId, role: m.role }));
			return {
				id: group._id,
				type: group.type,
				name: group.name,
				members,
				memberCount: members.length,
				createdAt: new Date(group.createdAt).toISOString(),
				updatedAt: new Date(group.updatedAt).toISOString()
			};
		},

		async baseOf(groupId: string): Promise<GroupBase> {
			const group = (await this.db.groups.findById(groupId))!;
			return this.toBase(group, await this.db.memberships.find({ groupId }));
		},

		/** Insert fields that record group.created with the members the creation is about to add. */
		createdOutbox(group: GroupDoc, members: [string, MemberRole][]): OutboxFields {
			if (!this.outboxEnabled) return {};
			const memberships = members.map(([userId, role]) => ({ _id: membershipId(group._id, userId), groupId: group._id, userId, role, joinedAt: group.createdAt }));
			const base = this.toBase(group, memberships);
			const payload = { group: base, memberIds: base.members.map(m => m.userId), actorId: group.createdBy };
			return outboxFields(this.outboxEvent("group.created", group._id, payload, group.createdAt));
		},

		/** Sets fields of the group; when streaming, the same write records `type` with the group as the change leaves it. */
		async updateGroup(groupId: string, $set: { name?: string; updatedAt: Date }, type: GroupChangeType, actorId: string, extra: object = {}): Promise<GroupDoc> {
			let event = null;
			if (this.outboxEnabled) {
				const group = { ...(await this.baseOf(groupId)), ...$set, updatedAt: $set.updatedAt.toISOString() };
				event = this.outboxEvent(type, groupId, { ...extra, group, memberIds: group.members.map(m => m.userId), actorId } as never, $set.updatedAt);
			}
			return (await this.db.groups.updateById(groupId, { $set, ...outboxUpdate(event) }))!;
		},

		async toGroups(ctx: Ctx, groups: GroupDoc[], userId: string): Promise<Group[]> {
			if (groups.length === 0) return [];
			const ids = groups.map(g => g._id);
			const [memberships, heads] = await Promise.all([
				this.db.memberships.find({ groupId: { $in: ids } }),
				ctx.call<ConversationHead[], object>("messages.heads", { groupIds: ids, userId })
			]);
			const headOf = new Map(heads.map(h => [h.groupId, h]));
			return groups.map(group => {
				const base = this.toBase(group, memberships.filter(m => m.groupId === group._id));
				const head = headOf.get(group._id);
				const lastSeq = head?.lastSeq ?? 0;
				const readSeq = Math.min(head?.readSeq ?? 0, lastSeq);
				return {
					...base,
					lastSeq,
					readSeq,
					unreadCount: lastSeq - readSeq,
					lastMessage: head?.lastMessage ?? null,
					lastActivityAt: head?.lastActivityAt ?? base.createdAt
				};
			});
		}
	}
};

export default GroupsService;
