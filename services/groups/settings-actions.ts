import type { ActionSchema, Service, ServiceSchema } from "moleculer";
import { TEXT_LIMITS } from "../../contract/limits.ts";
import type { Group, MemberRole, NotificationLevel } from "../../contract/groups.ts";
import { assertOwnImage } from "../../lib/avatars.ts";
import { forbidden, invalidField } from "../../lib/errors.ts";
import { idParam, nameParam, params } from "../../lib/params.ts";
import { membershipOf, type MemberContext } from "../../lib/session.ts";
import { byGroup, changeOf, commitChange, DOORS, groupOf, viewOf } from "./commit.ts";
import { groupUpdate } from "./group-update.ts";
import type { GroupsState } from "./groups.service.ts";
import { NOTIFICATION_LEVELS, parseMutedUntil, toNotificationSettings } from "./notifications.ts";
import { noteInTimeline } from "./system-lines.ts";

type GroupsThis = Service & GroupsState;

const groupNameParam = nameParam(TEXT_LIMITS.groupName);

const adminsEdit = { roles: ["owner", "admin"], forbidden: "Only the owner or an admin can change the group's name or picture" } satisfies {
	roles: MemberRole[];
	forbidden: string;
};

/** Renames the group and/or sets its picture (`avatarAssetId`: an image the caller uploaded, or null to clear it). */
const update: ActionSchema<GroupsThis> = {
	auth: "required",
	conversation: { param: "id", ...adminsEdit },
	...byGroup,
	params: params({ id: idParam, name: { ...groupNameParam, optional: true }, avatarAssetId: { ...idParam, optional: true, nullable: true } }),
	async handler(ctx: MemberContext<{ id: string; name?: string; avatarAssetId?: string | null }>): Promise<Group> {
		const { name, avatarAssetId } = ctx.params;
		if (name === undefined && avatarAssetId === undefined) throw invalidField("name", "Give 'name', 'avatarAssetId' or both.", "required");
		if (membershipOf(ctx).groupType === "direct") throw forbidden("Direct conversations have no name or picture to change");
		if (avatarAssetId) await assertOwnImage(ctx, avatarAssetId, ctx.meta.user.id);
		return changeOf(this, ctx, ctx.params.id, adminsEdit, async (_caller, group) => {
			const { set, lines } = groupUpdate(group, { name, avatarAssetId }, this.secret);
			if (!lines.length) return viewOf(this, ctx, group);
			const { updated } = await commitChange(this, ctx, group, "group.updated", {}, set);
			for (const line of lines) await noteInTimeline(ctx, this.logger, group._id, line);
			return viewOf(this, ctx, updated);
		});
	}
};

/** The caller's notification level and mute here (every device of theirs hears it); `mutedUntil` left out keeps the mute. */
const setNotifications: ActionSchema<GroupsThis> = {
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
		try {
			await this.memberships.setNotifications(groupId, userId, { level, mutedUntil });
		} finally {
			await this.doorCache.clean([DOORS.notificationTargets(groupId).guard]);
		}
		ctx.broadcast("group.notifications.changed", { groupId, userId, notifications: toNotificationSettings({ level, mutedUntil }) });
		return viewOf(this, ctx, await groupOf(this, groupId));
	}
};

/** A group's name and picture (admins), and each member's own notification settings. Mixed into the groups service. */
export const GroupsSettingsActions: Partial<ServiceSchema<any, any, any>> = { actions: { update, setNotifications } };
