import type { Context, Logger, ServiceSchema } from "moleculer";
import { TEXT_LIMITS } from "../../contract/limits.ts";
import type { Group, GroupList, GroupType, MemberRole } from "../../contract/groups.ts";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { Outbox, type OutboxMethods } from "../../mixins/outbox.mixin.ts";
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
import { DOORS, groupOf, membersMoved, viewOf } from "./commit.ts";
import { decodeCursor, pageOf } from "./conversation-list.ts";
import { directKeyOf, type GroupDoc, type MembershipDoc } from "./documents.ts";
import { DoorCache } from "./door-cache.ts";
import { GroupsMembershipActions } from "./membership-actions.ts";
import { assertUsersExist, Memberships } from "./memberships.ts";
import { endMove, followUp, newMove, settle, Settler, settlingOnFailure } from "./moves.ts";
import type { NotificationTargets } from "./notifications.ts";
import { GroupsSettingsActions } from "./settings-actions.ts";
import { headsOf, viewsOf } from "./views.ts";

export interface GroupsState extends DbMethods, OutboxMethods {
	logger: Logger;
	db: { groups: Collection<GroupDoc>; memberships: Collection<MembershipDoc> };
	memberships: Memberships;
	admission: Admission;
	/** One change of a group at a time (membership-actions.ts, settings-actions.ts). */
	changeLock: GroupChangeLock;
	/** Signs group picture URLs. */
	secret: string;
	/** The cached doors below, and their cleaning (commit.ts membersMoved). */
	doorCache: DoorCache;
	/** Tries member changes whose follow-up failed again later (moves.ts). */
	settler: Settler;
}

/** The broadcast that carries a clean of cached doors to the other groups nodes. */
const DOORS_CLEANED = "$groups.doors.cleaned";

/** The largest page of the conversation list, and the page without `limit`. */
const LIST_MAX = 100;

/**
 * Conversations (groups and direct ones) and who is in them. Actions, by file:
 * - here: create, list, get; and for other services, the cached doors notificationTargets, membership, memberIds, idsForUser
 *   (door-cache.ts: an answer read before a change is never cached after it);
 * - membership-actions.ts: addMembers, removeMember, setRole;
 * - settings-actions.ts: update (name, picture), setNotifications (the caller's level and mute).
 * Every change is written with its event in the group's outbox and broadcast after its caches are clean (commit.ts); a
 * change of members completes every step even when one fails, and what a failure left undone is completed later (moves.ts).
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
					const joining = members.map(m => m.userId);
					// The group records its own creation as a move (moves.ts) until the members' cursors are set.
					const { id: moveId, move } = newMove("group.created", joining, me.id);
					try {
						await this.db.groups.insert({
							...group,
							unsettled: { [moveId]: move },
							...outboxFields(this.outboxEvent("group.created", group._id, streamedChange<"group.created">(change), now))
						});
					} catch (err) {
						if (!(directKey && err instanceof DuplicateKeyError)) throw err;
						// The other user opened the same conversation at the same moment.
						return viewOf(this, ctx, (await this.db.groups.findOne({ directKey }))!);
					}
					await settlingOnFailure(this, group._id, async () => {
						let added: string[];
						try {
							// The creator joins first: ownership passes on by seniority.
							added = [
								...(await this.memberships.add(group._id, [me.id], creatorRole, me.id)),
								...(await this.memberships.add(group._id, others, "member", me.id))
							];
						} finally {
							await membersMoved(this, group._id, joining);
						}
						if (await followUp(this, ctx, group._id, added, [])) await endMove(this, group._id, moveId);
					});
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
			handler(ctx: Context<{ groupId: string }>): Promise<NotificationTargets | null> {
				const { groupId } = ctx.params;
				return this.doorCache.read(DOORS.notificationTargets(groupId), async () => {
					const [group, members] = await Promise.all([this.db.groups.findById(groupId), this.memberships.inGroup(groupId)]);
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
				});
			}
		},

		/** The hot membership check of every send and receipt; cached, cleaned on every change. */
		membership: {
			visibility: "public",
			readOnly: true,
			params: params({ groupId: idParam, userId: idParam }),
			handler(ctx: Context<{ groupId: string; userId: string }>): Promise<{ role: MemberRole; groupType: GroupType } | null> {
				const { groupId, userId } = ctx.params;
				return this.doorCache.read(DOORS.membership(groupId, userId), async () => {
					const membership = await this.memberships.of(groupId, userId);
					if (!membership) return null;
					const group = await this.db.groups.findById(groupId);
					return group ? { role: membership.role, groupType: group.type } : null;
				});
			}
		},

		memberIds: {
			visibility: "public",
			readOnly: true,
			params: params({ groupId: idParam }),
			handler(ctx: Context<{ groupId: string }>): Promise<string[]> {
				const { groupId } = ctx.params;
				return this.doorCache.read(DOORS.memberIds(groupId), async () => (await this.memberships.inGroup(groupId)).map(m => m.userId));
			}
		},

		idsForUser: {
			visibility: "public",
			readOnly: true,
			params: params({ userId: idParam }),
			handler(ctx: Context<{ userId: string }>): Promise<string[]> {
				const { userId } = ctx.params;
				return this.doorCache.read(DOORS.idsForUser(userId), async () => (await this.memberships.ofUser(userId)).map(m => m.groupId));
			}
		}
	},

	events: {
		/** Another groups node cleaned cached doors: its memory cache is not this node's (door-cache.ts). */
		[DOORS_CLEANED](ctx: Context<{ patterns: string[] }>) {
			if (ctx.nodeID !== this.broker.nodeID) this.doorCache.cleanHere(ctx.params.patterns);
		}
	},

	started() {
		const config = chatConfig(this.broker);
		this.doorCache = new DoorCache(this.broker, patterns => {
			if (this.broker.transit) void this.broker.broadcast(DOORS_CLEANED, { patterns }, { groups: ["groups"] });
		});
		this.settler = new Settler(
			groupId =>
				this.changeLock.run(groupId, async () => {
					const group = await this.db.groups.findById(groupId);
					return !group || !(await settle(this, this.broker, group)).pending;
				}),
			this.logger
		);
		this.secret = config.jwt.secret;
		this.memberships = new Memberships(this.db.memberships);
		this.changeLock = new GroupChangeLock(
			config.redisUrl ? new RedisLeases(config.redisUrl, `${config.namespace}:group-change:`, { ttlMs: 15_000, waitMs: 10_000 }) : null
		);
		this.admission = new Admission({ groups: this.db.groups, memberships: this.db.memberships, limits: config.groupLimits });
	},

	async stopped() {
		this.settler?.stop();
		this.doorCache?.close();
		await this.changeLock?.close();
	}
};

export default GroupsService;
