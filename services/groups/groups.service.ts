import type { Context, ServiceSchema } from "moleculer";
import { TEXT_LIMITS } from "../../contract/limits.ts";
import type { Group, GroupList, GroupType, MemberRole } from "../../contract/groups.ts";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
import { cachedBy } from "../../lib/cache-keys.ts";
import { chatConfig } from "../../lib/config.ts";
import { invalidField } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { RedisLeases } from "../../lib/redis-lease.ts";
import { OUTBOX_INDEX, outboxFields } from "../../lib/outbox.ts";
import { idList, idParam, limitParam, nameParam, params } from "../../lib/params.ts";
import type { MemberContext, UserContext } from "../../lib/session.ts";
import { Admission } from "./admission.ts";
import { GroupChangeLock } from "./change-lock.ts";
import { groupChange, streamedChange } from "./changes.ts";
import { groupOf, membersMoved, viewOf } from "./commit.ts";
import { decodeCursor, pageOf } from "./conversation-list.ts";
import { directKeyOf, type GroupDoc, type MembershipDoc } from "./documents.ts";
import { GroupsMembershipActions } from "./membership-actions.ts";
import { assertUsersExist, Memberships } from "./memberships.ts";
import type { NotificationTargets } from "./notifications.ts";
import { GroupsSettingsActions } from "./settings-actions.ts";
import { headsOf, viewsOf } from "./views.ts";

export interface GroupsState extends DbMethods, OutboxMethods {
	db: { groups: Collection<GroupDoc>; memberships: Collection<MembershipDoc> };
	memberships: Memberships;
	admission: Admission;
	/** One change of a group at a time (membership-actions.ts, settings-actions.ts). */
	changeLock: GroupChangeLock;
	/** Signs group picture URLs. */
	secret: string;
}

/** The largest page of the conversation list, and the page without `limit`. */
const LIST_MAX = 100;

/**
 * Conversations (groups and direct ones) and who is in them. Actions, by file:
 * - here: create, list, get; and for other services, the cached doors notificationTargets, membership, memberIds, idsForUser;
 * - membership-actions.ts: addMembers, removeMember, setRole;
 * - settings-actions.ts: update (name, picture), setNotifications (the caller's level and mute).
 * Every change is written with its event in the group's outbox and broadcast after its caches are clean (commit.ts).
 */
const GroupsService: ServiceSchema<{}, {}, GroupsState> = {
	name: "groups",
	mixins: [
		DbCollections({
			groups: { indexes: [{ fields: { directKey: 1 }, unique: true, sparse: true }, OUTBOX_INDEX] },
			memberships: { indexes: [{ fields: { groupId: 1, joinedAt: 1 } }, { fields: { userId: 1 } }] }
		}),
		Outbox(["groups"]),
		GroupsMembershipActions,
		GroupsSettingsActions
	],

	actions: {
		/** A group (name + members) or a direct conversation (exactly one other user; asking again returns the existing one). */
		create: {
			auth: "required",
			params: params({
				// Direct conversations ignore the name (clients show the other person's), so "" is fine there.
				name: { ...nameParam(TEXT_LIMITS.groupName, 0), optional: true },
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
				// The users counted against their groups limit stay locked until they are in (change-lock.ts).
				return this.changeLock.runForUsers(direct ? [] : [me.id, ...others], async () => {
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
				});
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
		const config = chatConfig(this.broker);
		this.secret = config.jwt.secret;
		this.memberships = new Memberships(this.db.memberships);
		this.changeLock = new GroupChangeLock(
			config.redisUrl ? new RedisLeases(config.redisUrl, `${config.namespace}:group-change:`, { ttlMs: 15_000, waitMs: 10_000 }) : null
		);
		this.admission = new Admission({ groups: this.db.groups, memberships: this.db.memberships, limits: config.groupLimits });
	},

	async stopped() {
		await this.changeLock?.close();
	}
};

export default GroupsService;
