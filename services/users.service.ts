import type { Context, ServiceSchema } from "moleculer";
import { TEXT_LIMITS } from "../contract/limits.ts";
import type { GroupAddPolicy, Profile, User } from "../contract/users.ts";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../mixins/db.mixin.ts";
import { assertOwnImage, avatarUrlOf } from "../lib/avatars.ts";
import { cachedBy, cacheKey } from "../lib/cache-keys.ts";
import { chatConfig } from "../lib/config.ts";
import { conflict, invalidField, notFound } from "../lib/errors.ts";
import { newId } from "../lib/ids.ts";
import { displayNameParam, idList, idParam, limitParam, lineParam, params, USERNAME_PATTERN } from "../lib/params.ts";
import type { UserContext } from "../lib/session.ts";

interface UserDoc {
	_id: string;
	username: string;
	displayName: string;
	displayNameLower: string;
	avatarUrl: string | null;
	avatarAssetId: string | null;
	statusText: string;
	/** Missing on users from before the setting: "everyone". */
	allowGroupAddsFrom?: GroupAddPolicy;
	createdAt: Date;
	updatedAt: Date;
}

interface UsersThis extends DbMethods {
	db: { users: Collection<UserDoc> };
	toUser(doc: UserDoc): User;
	toProfile(doc: UserDoc): Profile;
	findDoc(id: string): Promise<UserDoc>;
}

/** An avatar is an image you uploaded (`avatarAssetId`, or its URL on this server) or an https URL elsewhere. */
const OWN_ASSET_URL = /^\/api\/assets\/([a-f0-9]{24})\/(?:original|thumb)(?:\?.*)?$/;

function isHttpsUrl(text: string): boolean {
	if (!URL.canParse(text)) return false;
	const url = new URL(text);
	return url.protocol === "https:" && url.hostname !== "" && !url.username && !url.password;
}

function escapeRegExp(text: string): string {
	return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const UsersService: ServiceSchema<{}, {}, UsersThis> = {
	name: "users",
	mixins: [DbCollections({ users: { indexes: [{ fields: { username: 1 }, unique: true }, { fields: { displayNameLower: 1 } }] } })],

	actions: {
		/** Registration's first half (auth owns the credentials); usernames are stored lower-case. */
		create: {
			visibility: "public",
			params: params({ username: { type: "string", pattern: USERNAME_PATTERN }, displayName: { ...displayNameParam, optional: true } }),
			async handler(ctx: Context<{ username: string; displayName?: string }>): Promise<User> {
				const now = new Date();
				const displayName = ctx.params.displayName || ctx.params.username;
				const doc: UserDoc = {
					_id: newId(),
					username: ctx.params.username,
					displayName,
					displayNameLower: displayName.toLowerCase(),
					avatarUrl: null,
					avatarAssetId: null,
					statusText: "",
					createdAt: now,
					updatedAt: now
				};
				try {
					await this.db.users.insert(doc);
				} catch (err) {
					if (err instanceof DuplicateKeyError) throw conflict("That username is already taken", "USERNAME_TAKEN", [{ field: "username" }]);
					throw err;
				}
				return this.toUser(doc);
			}
		},

		/** Undoes `create` when registration fails half-way. */
		remove: {
			visibility: "public",
			params: params({ id: idParam }),
			async handler(ctx: Context<{ id: string }>) {
				await this.db.users.removeById(ctx.params.id);
				await this.cleanCache(cacheKey("users.get", ctx.params.id));
			}
		},

		byUsername: {
			visibility: "public",
			readOnly: true,
			params: params({ username: { type: "string", max: 64 } }),
			async handler(ctx: Context<{ username: string }>): Promise<User | null> {
				const doc = await this.db.users.findOne({ username: ctx.params.username.toLowerCase() });
				return doc ? this.toUser(doc) : null;
			}
		},

		/** Ids of the users with these usernames (mentions resolve through it); unknown names are left out. */
		idsByUsernames: {
			visibility: "public",
			readOnly: true,
			params: params({ usernames: { type: "array", max: 100, items: { type: "string", max: 64 } } }),
			async handler(ctx: Context<{ usernames: string[] }>): Promise<string[]> {
				if (ctx.params.usernames.length === 0) return [];
				const docs = await this.db.users.find({ username: { $in: ctx.params.usernames.map(u => u.toLowerCase()) } });
				return docs.map(d => d._id);
			}
		},

		get: {
			auth: "required",
			readOnly: true,
			params: params({ id: idParam }),
			cache: cachedBy("id"),
			async handler(ctx: UserContext<{ id: string }>): Promise<User> {
				return this.toUser(await this.findDoc(ctx.params.id));
			}
		},

		getMany: {
			visibility: "public",
			readOnly: true,
			params: params({ ids: idList(1000) }),
			async handler(ctx: Context<{ ids: string[] }>): Promise<User[]> {
				const docs = await this.db.users.findByIds(ctx.params.ids);
				return docs.map(d => this.toUser(d));
			}
		},

		/** GET /api/users: `ids` for a batch, otherwise a prefix search on username and display name. */
		list: {
			auth: "required",
			readOnly: true,
			params: params({
				search: { type: "string", trim: true, max: 64, optional: true },
				ids: { type: "string", max: 200 * 25, optional: true },
				limit: limitParam(50, 20),
				offset: { type: "number", integer: true, min: 0, max: 10_000, optional: true, default: 0 }
			}),
			async handler(ctx: UserContext<{ search?: string; ids?: string; limit: number; offset: number }>) {
				if (ctx.params.ids != null) {
					const ids = [
						...new Set(
							ctx.params.ids
								.split(",")
								.map(s => s.trim())
								.filter(Boolean)
						)
					];
					const items = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids });
					return { items };
				}
				// Names are stored NFC (lib/text.ts): "Zoë" typed as "Zoe" + U+0308 finds them too.
				const prefix = escapeRegExp((ctx.params.search ?? "").normalize("NFC").toLowerCase());
				const pattern = new RegExp("^" + prefix);
				const query = prefix ? { $or: [{ username: { $regex: pattern } }, { displayNameLower: { $regex: pattern } }] } : {};
				const docs = await this.db.users.find(query, { sort: ["username"], limit: ctx.params.limit, offset: ctx.params.offset });
				return { items: docs.map(d => this.toUser(d)) };
			}
		},

		profile: {
			auth: "required",
			readOnly: true,
			async handler(ctx: UserContext): Promise<Profile> {
				return this.toProfile(await this.findDoc(ctx.meta.user.id));
			}
		},

		/** For groups.create / addMembers: who each user lets add them to groups (unknown ids are left out). */
		groupAddPolicies: {
			visibility: "public",
			readOnly: true,
			params: params({ ids: idList(1000) }),
			async handler(ctx: Context<{ ids: string[] }>): Promise<{ id: string; allowGroupAddsFrom: GroupAddPolicy }[]> {
				const docs = await this.db.users.findByIds(ctx.params.ids);
				return docs.map(d => ({ id: d._id, allowGroupAddsFrom: d.allowGroupAddsFrom ?? "everyone" }));
			}
		},

		updateProfile: {
			auth: "required",
			params: params({
				displayName: { ...displayNameParam, optional: true },
				statusText: { ...lineParam(TEXT_LIMITS.statusText), optional: true },
				avatarAssetId: { ...idParam, optional: true, nullable: true },
				avatarUrl: { type: "string", max: 2048, optional: true, nullable: true },
				allowGroupAddsFrom: { type: "enum", values: ["everyone", "contacts"], optional: true }
			}),
			async handler(
				ctx: UserContext<{
					displayName?: string;
					statusText?: string;
					avatarAssetId?: string | null;
					avatarUrl?: string | null;
					allowGroupAddsFrom?: GroupAddPolicy;
				}>
			): Promise<Profile> {
				const me = ctx.meta.user;
				const p = { ...ctx.params };
				const ownAsset = p.avatarUrl ? OWN_ASSET_URL.exec(p.avatarUrl)?.[1] : undefined;
				if (ownAsset && p.avatarAssetId === undefined) [p.avatarAssetId, p.avatarUrl] = [ownAsset, undefined];
				const set: Partial<UserDoc> = { updatedAt: new Date() };
				if (p.displayName != null) Object.assign(set, { displayName: p.displayName, displayNameLower: p.displayName.toLowerCase() });
				if (p.statusText != null) set.statusText = p.statusText;
				if (p.allowGroupAddsFrom != null) set.allowGroupAddsFrom = p.allowGroupAddsFrom;
				if (p.avatarAssetId !== undefined) {
					if (p.avatarAssetId !== null) await assertOwnImage(ctx, p.avatarAssetId, me.id);
					Object.assign(set, { avatarAssetId: p.avatarAssetId, avatarUrl: null });
				} else if (p.avatarUrl !== undefined) {
					if (p.avatarUrl !== null && !isHttpsUrl(p.avatarUrl))
						throw invalidField("avatarUrl", "The 'avatarUrl' field must be an https URL or the URL of an image you uploaded.");
					Object.assign(set, { avatarUrl: p.avatarUrl, avatarAssetId: null });
				}
				const doc = await this.db.users.updateById(me.id, { $set: set });
				if (!doc) throw notFound("User");
				await this.cleanCache(cacheKey("users.get", me.id));
				// Everyone who shares a conversation hears the public shape; the settings stay with the owner.
				ctx.broadcast("user.updated", { user: this.toUser(doc) });
				return this.toProfile(doc);
			}
		}
	},

	methods: {
		toUser(doc: UserDoc): User {
			const avatarUrl = doc.avatarAssetId ? avatarUrlOf(chatConfig(this.broker).jwt.secret, doc.avatarAssetId) : doc.avatarUrl;
			return { id: doc._id, username: doc.username, displayName: doc.displayName, avatarUrl: avatarUrl ?? null, statusText: doc.statusText ?? "" };
		},
		toProfile(doc: UserDoc): Profile {
			return { ...this.toUser(doc), allowGroupAddsFrom: doc.allowGroupAddsFrom ?? "everyone" };
		},
		async findDoc(id: string): Promise<UserDoc> {
			const doc = await this.db.users.findById(id);
			if (!doc) throw notFound("User");
			return doc;
		}
	}
};

export default UsersService;
