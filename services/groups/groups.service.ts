import type { Context, ServiceSchema } from "moleculer";
import type { Group, GroupBase, GroupList, GroupType, MemberRole, NotificationLevel } from "../../contract/groups.ts";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { cachedBy, cacheKey } from "../../lib/cache-keys.ts";
import { assertOwnImage } from "../../lib/avatars.ts";
import { chatConfig } from "../../lib/config.ts";
import { forbidden, invalidField, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { OUTBOX_INDEX, outboxFields, outboxUpdate } from "../../lib/outbox.ts";
import { idList, idParam, limitParam, nameParam, params } from "../../lib/params.ts";
import { Admission } from "./admission.ts";
import { decodeCursor, pageOf } from "./conversation-list.ts";
import { membershipOf, type MemberContext, type UserContext } from "../../lib/session.ts";
import { groupChange, streamedChange, type ChangeDetails, type GroupChanges, type GroupChangeType } from "./changes.ts";
import { directKeyOf, type GroupDoc, type MembershipDoc } from "./documents.ts";
import { assertUsersExist, Memberships } from "./memberships.ts";
import { headsOf, viewsOf } from "./views.ts";
import { groupUpdate } from "./group-update.ts";
import { noteInTimeline } from "./system-lines.ts";
import { NOTIFICATION_LEVELS, parseMutedUntil, toNotificationSettings, type NotificationTargets } from "./notifications.ts";

interface GroupsState extends DbMethods, OutboxMethods {
	db: { groups: Collection<GroupDoc>; memberships: Collection<MembershipDoc> };
	memberships: Memberships;
	admission: Admission;
	/** Signs group picture URLs. */
	secret: string;
}

const groupNameParam = nameParam(100);

/** The largest page of the conversation list, and the page without `limit`. */
const LIST_MAX = 100;

async function groupOf(svc: GroupsState, id: string): Promise<GroupDoc> {
	const group = await svc.db.groups.findById(id);
	if (!group) throw notFound("Conversation");
	return group;
}

/** The group as the caller sees it. */
async function viewOf(svc: GroupsState, ctx: UserContext, group: GroupDoc): Promise<Group> {
	return (await viewsOf(svc.memberships, ctx, [group], ctx.meta.user.id))[0];
}

/** The cached answers that mention these members of the group. */
function membersMoved(svc: GroupsState, groupId: string, userIds: string[]): Promise<void> {
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
async function commitChange<T extends Exclude<GroupChangeType, "group.created">>(
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

const GroupsService: ServiceSchema<{}, {}, GroupsState> = {
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
			auth: "required",
			params: params({
				// Direct conversations ignore the name (clients show the other person's), so "" is fine there.
				name: { ...nameParam(100, 0), optional: true },
				memberIds: idList(1000),
				type: { type: "enum", values: ["group", "direct"], optional: true, default: "group" }
			}),
			async handler(ctx: UserContext<{ name?: string; memberIds: string[]; type: GroupType }>): Promise<Group> {
				const me = ctx.meta.user;
				const others = ctx.params.memberIds.filter(id => id !== me.id);
				const direct = ctx.params.type === "direct";
				if (direct && others.length !== 1) throw invalidField("memberIds", "A direct conversation needs exactly one other user in 'memberIds'.");
				if (!direct && !ctx.params.name) throw invalidField("name", "The 'name' field is required for a group.");
				await assertUsersExist(ctx, others, "memberIds");
				if (!direct) await this.admission.check(ctx, me.id, [me.id, ...new Set(others)], 0);
				const directKey = direct ? directKeyOf(me.id, others[0]) : undefined;
				if (directKey) {
					const existing = await this.db.groups.findOne({ directKey });
					if (existing) return viewOf(this, ctx, existing);
				}
				const now = new Date();
				const group: GroupDoc = directKey
					? { _id: newId(), type: "direct", name: "", directKey, createdBy: me.id, createdAt: now, updatedAt: now }
					: { _id: newId(), type: "group", name: ctx.params.name!, createdBy: me.id, createdAt: now, updatedAt: now };
				const creatorRole: MemberRole = direct ? "member" : "owner";
				const members = [{ userId: me.id, role: creatorRole, joinedAt: now }, ...others.map(userId => ({ userId, role: "member" as const, joinedAt: now }))];
				const change = groupChange<"group.created">(group, members, me.id, {});
				try {
					await this.db.groups.insert({
						...group,
						...outboxFields(this.outboxEvent("group.created", group._id, streamedChange<"group.created">(change), now))
					});
				} catch (err) {
					if (!(directKey && err instanceof DuplicateKeyError)) throw err;
					// The other user opened the same conversation at the same moment.
					return viewOf(this, ctx, (await this.db.groups.findOne({ directKey }))!);
				}
				// The creator joins first: ownership passes on by seniority.
				const added = [
					...(await this.memberships.add(group._id, [me.id], creatorRole, me.id)),
					...(await this.memberships.add(group._id, others, "member", me.id))
				];
				await ctx.call("messages.membersChanged", { groupId: group._id, added, removed: [] });
				await membersMoved(this, group._id, added);
				ctx.broadcast("group.created", change);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/groups/${group._id}`;
				return viewOf(this, ctx, group);
			}
		},

		/**
		 * Newest activity first, in pages (conversation-list.ts). Ordering needs every conversation's last
		 * activity (one head each), but only the page is built with its members.
		 */
		list: {
			auth: "required",
			readOnly: true,
			params: params({ limit: limitParam(LIST_MAX, LIST_MAX), cursor: { type: "string", max: 100, optional: true } }),
			async handler(ctx: UserContext<{ limit: number; cursor?: string }>): Promise<GroupList> {
				const me = ctx.meta.user.id;
				const cursor = ctx.params.cursor ? decodeCursor(ctx.params.cursor) : null;
				const ids = await ctx.call<string[], { userId: string }>("groups.idsForUser", { userId: me });
				const [groups, heads] = await Promise.all([this.db.groups.findByIds(ids), headsOf(ctx, ids, me)]);
				const headOf = new Map(heads.map(h => [h.groupId, h]));
				const positions = groups.map(group => {
					const at = headOf.get(group._id)?.lastActivityAt ?? group.createdAt;
					return { id: group._id, activityAt: new Date(at).getTime(), group };
				});
				const { page, next } = pageOf(positions, ctx.params.limit, cursor);
				const items = await viewsOf(
					this.memberships,
					ctx,
					page.map(p => p.group),
					me,
					heads
				);
				return { items, next };
			}
		},

		get: {
			auth: "required",
			readOnly: true,
			conversation: { param: "id" },
			params: params({ id: idParam }),
			async handler(ctx: MemberContext<{ id: string }>): Promise<Group> {
				return viewOf(this, ctx, await groupOf(this, ctx.params.id));
			}
		},

		/** Renames the group and/or sets its picture (`avatarAssetId`: an image the caller uploaded, or null to clear it). */
		update: {
			auth: "required",
			conversation: { param: "id", roles: ["owner", "admin"], forbidden: "Only the owner or an admin can change the group's name or picture" },
			params: params({ id: idParam, name: { ...groupNameParam, optional: true }, avatarAssetId: { ...idParam, optional: true, nullable: true } }),
			async handler(ctx: MemberContext<{ id: string; name?: string; avatarAssetId?: string | null }>): Promise<Group> {
				const { name, avatarAssetId } = ctx.params;
				if (name === undefined && avatarAssetId === undefined) throw invalidField("name", "Give 'name', 'avatarAssetId' or both.", "required");
				if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have no name or picture to change");
				if (avatarAssetId) await assertOwnImage(ctx, avatarAssetId, ctx.meta.user.id);
				const group = await groupOf(this, ctx.params.id);
				const { set, lines } = groupUpdate(group, { name, avatarAssetId }, this.secret);
				if (!lines.length) return viewOf(this, ctx, group);
				const { updated } = await commitChange(this, ctx, group, "group.updated", {}, [], set);
				for (const line of lines) await noteInTimeline(ctx, this.logger, group._id, line);
				return viewOf(this, ctx, updated);
			}
		},

		addMembers: {
			auth: "required",
			conversation: { param: "id", roles: ["owner", "admin"], forbidden: "Only the owner or an admin can add members" },
			params: params({ id: idParam, userIds: idList(1000, 1) }),
			async handler(ctx: MemberContext<{ id: string; userIds: string[] }>): Promise<Group> {
				if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have fixed members");
				const group = await groupOf(this, ctx.params.id);
				await assertUsersExist(ctx, ctx.params.userIds, "userIds");
				const current = await this.memberships.inGroup(group._id);
				const present = new Set(current.map(m => m.userId));
				const joining = [...new Set(ctx.params.userIds)].filter(id => !present.has(id));
				await this.admission.check(ctx, ctx.meta.user.id, joining, current.length);
				const added = await this.memberships.add(group._id, joining, "member", ctx.meta.user.id);
				if (added.length) {
					// The line first: the new members' cursors then start after it, so they join caught up.
					await noteInTimeline(ctx, this.logger, group._id, { type: "members.added", userIds: added });
					await ctx.call("messages.membersChanged", { groupId: group._id, added, removed: [] });
					await commitChange(this, ctx, group, "group.member.added", { userIds: added }, added);
				}
				return viewOf(this, ctx, group);
			}
		},

		/** Removing yourself is leaving. The last owner who leaves hands ownership to the longest-standing admin, else member. */
		removeMember: {
			auth: "required",
			conversation: { param: "id" },
			params: params({ id: idParam, userId: idParam }),
			async handler(ctx: MemberContext<{ id: string; userId: string }>): Promise<Group | GroupBase> {
				const { role, groupType } = membershipOf(ctx);
				const { userId } = ctx.params;
				if (groupType === "direct") throw forbidden("Direct conversations have fixed members");
				const group = await groupOf(this, ctx.params.id);
				const leaving = userId === ctx.meta.user.id;
				let removedRole = role;
				if (!leaving) {
					const target = await this.memberships.of(group._id, userId);
					if (role === "member") throw forbidden("Only the owner or an admin can remove members");
					if (!target) throw notFound("Member");
					if (role === "admin" && target.role !== "member") throw forbidden("An admin can remove members, not admins or the owner");
					removedRole = target.role;
				}
				await this.memberships.remove(group._id, userId, removedRole);
				await ctx.call("messages.membersChanged", { groupId: group._id, added: [], removed: [userId] });
				const { change } = await commitChange(this, ctx, group, "group.member.removed", { userId }, [userId]);
				await noteInTimeline(ctx, this.logger, group._id, leaving ? { type: "member.left" } : { type: "member.removed", userId });
				return leaving ? change.group : viewOf(this, ctx, group);
			}
		},

		/** The owner makes members admins (or back), or hands ownership on with role "owner". */
		setRole: {
			auth: "required",
			conversation: { param: "id", roles: ["owner"], forbidden: "Only the owner can change roles" },
			params: params({ id: idParam, userId: idParam, role: { type: "enum", values: ["owner", "admin", "member"] } }),
			async handler(ctx: MemberContext<{ id: string; userId: string; role: MemberRole }>): Promise<Group> {
				const me = ctx.meta.user;
				if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have no roles");
				if (ctx.params.userId === me.id) throw forbidden("Hand ownership to another member instead of changing your own role");
				const group = await groupOf(this, ctx.params.id);
				const target = await this.memberships.of(group._id, ctx.params.userId);
				if (!target) throw notFound("Member");
				await this.memberships.setRole(group._id, ctx.params.userId, ctx.params.role, me.id);
				await commitChange(this, ctx, group, "group.updated", {}, [me.id, ctx.params.userId]);
				if (target.role !== ctx.params.role)
					await noteInTimeline(ctx, this.logger, group._id, { type: "role.changed", userId: target.userId, role: ctx.params.role });
				return viewOf(this, ctx, group);
			}
		},

		/** The caller's notification level and mute here (every device of theirs hears it); `mutedUntil` left out keeps the mute. */
		setNotifications: {
			auth: "required",
			conversation: { param: "id" },
			params: params({
				id: idParam,
				level: { type: "enum", values: [...NOTIFICATION_LEVELS] },
				mutedUntil: { type: "string", max: 40, nullable: true, optional: true }
			}),
			async handler(ctx: MemberContext<{ id: string; level: NotificationLevel; mutedUntil?: string | null }>): Promise<Group> {
				const { id: groupId, level } = ctx.params;
				const userId = ctx.meta.user.id;
				const kept = ctx.params.mutedUntil === undefined ? (await this.memberships.of(groupId, userId))?.notifications?.mutedUntil : undefined;
				const mutedUntil = kept !== undefined ? kept && new Date(kept) : parseMutedUntil(ctx.params.mutedUntil);
				await this.memberships.setNotifications(groupId, userId, { level, mutedUntil });
				await this.cleanCache(cacheKey("groups.notificationTargets", groupId));
				ctx.broadcast("group.notifications.changed", { groupId, userId, notifications: toNotificationSettings({ level, mutedUntil }) });
				return viewOf(this, ctx, await groupOf(this, groupId));
			}
		},

		/** Who may hear of a message here and how each member wants to (services/push/); cached, cleaned on every change. */
		notificationTargets: {
			visibility: "public",
			readOnly: true,
			params: params({ groupId: idParam }),
			cache: cachedBy("groupId"),
			async handler(ctx: Context<{ groupId: string }>): Promise<NotificationTargets | null> {
				const [group, members] = await Promise.all([this.db.groups.findById(ctx.params.groupId), this.memberships.inGroup(ctx.params.groupId)]);
				if (!group) return null;
				return {
					groupId: group._id,
					type: group.type,
					name: group.name,
					members: members.map(m => ({
						userId: m.userId,
						level: m.notifications?.level ?? "all",
						mutedUntil: m.notifications?.mutedUntil ? new Date(m.notifications.mutedUntil).toISOString() : null
					}))
				};
			}
		},

		/** The hot membership check of every send and receipt; cached, cleaned on every change. */
		membership: {
			visibility: "public",
			readOnly: true,
			params: params({ groupId: idParam, userId: idParam }),
			cache: cachedBy("groupId", "userId"),
			async handler(ctx: Context<{ groupId: string; userId: string }>): Promise<{ role: MemberRole; groupType: GroupType } | null> {
				const membership = await this.memberships.of(ctx.params.groupId, ctx.params.userId);
				if (!membership) return null;
				const group = await this.db.groups.findById(ctx.params.groupId);
				return group ? { role: membership.role, groupType: group.type } : null;
			}
		},

		memberIds: {
			visibility: "public",
			readOnly: true,
			params: params({ groupId: idParam }),
			cache: cachedBy("groupId"),
			async handler(ctx: Context<{ groupId: string }>): Promise<string[]> {
				return (await this.memberships.inGroup(ctx.params.groupId)).map(m => m.userId);
			}
		},

		idsForUser: {
			visibility: "public",
			readOnly: true,
			params: params({ userId: idParam }),
			cache: cachedBy("userId"),
			async handler(ctx: Context<{ userId: string }>): Promise<string[]> {
				return (await this.memberships.ofUser(ctx.params.userId)).map(m => m.groupId);
			}
		}
	},

	started() {
		this.secret = chatConfig(this.broker).jwt.secret;
		this.memberships = new Memberships(this.db.memberships);
		this.admission = new Admission({ groups: this.db.groups, memberships: this.db.memberships, limits: chatConfig(this.broker).groupLimits });
	}
};

export default GroupsService;
