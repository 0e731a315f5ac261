import type { Context, ServiceSchema } from "moleculer";
import type { User } from "../contract/users.ts";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../mixins/db.mixin.ts";
import { signedAssetUrl } from "../lib/asset-urls.ts";
import { cachedBy, cacheKey } from "../lib/cache-keys.ts";
import { chatConfig } from "../lib/config.ts";
import { conflict, invalidField, notFound } from "../lib/errors.ts";
import { newId } from "../lib/ids.ts";
import { idList, idParam, limitParam, params, USERNAME_PATTERN } from "../lib/params.ts";
import type { UserContext } from "../lib/session.ts";

interface UserDoc {
	_id: string;
	username: string;
	displayName: string;
	displayNameLower: string;
	avatarUrl: string | null;
	avatarAssetId: string | null;
	statusText: string;
	createdAt: Date;
	updatedAt: Date;
}

interface UsersThis extends DbMethods {
	db: { users: Collection<UserDoc> };
	toUser(doc: UserDoc): User;
	findDoc(id: string): Promise<UserDoc>;
}

const displayNameParam = { type: "string", trim: true, min: 1, max: 64 } as const;

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
				offset: { type: "number", integer: true, min: 0, max: 10_000, convert: true, optional: true, default: 0 }
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
				const prefix = escapeRegExp((ctx.params.search ?? "").toLowerCase());
				const pattern = new RegExp("^" + prefix);
				const query = prefix ? { $or: [{ username: { $regex: pattern } }, { displayNameLower: { $regex: pattern } }] } : {};
				const docs = await this.db.users.find(query, { sort: ["username"], limit: ctx.params.limit, offset: ctx.params.offset });
				return { items: docs.map(d => this.toUser(d)) };
			}
		},

		profile: {
			auth: "required",
			readOnly: true,
			async handler(ctx: UserContext): Promise<User> {
				return this.toUser(await this.findDoc(ctx.meta.user.id));
			}
		},

		updateProfile: {
			auth: "required",
			params: params({
				displayName: { ...displayNameParam, optional: true },
				statusText: { type: "string", trim: true, max: 140, optional: true },
				avatarAssetId: { ...idParam, optional: true, nullable: true },
				avatarUrl: { type: "url", max: 2048, optional: true, nullable: true }
			}),
			async handler(ctx: UserContext<{ displayName?: string; statusText?: string; avatarAssetId?: string | null; avatarUrl?: string | null }>): Promise<User> {
				const me = ctx.meta.user;
				const p = ctx.params;
				const set: Partial<UserDoc> = { updatedAt: new Date() };
				if (p.displayName != null) Object.assign(set, { displayName: p.displayName, displayNameLower: p.displayName.toLowerCase() });
				if (p.statusText != null) set.statusText = p.statusText;
				if (p.avatarAssetId !== undefined) {
					if (p.avatarAssetId !== null) {
						// Only an image the user uploaded can become their avatar.
						const asset = await ctx.call<{ ownerId: string; mimeType: string } | null, { id: string }>("assets.describe", { id: p.avatarAssetId });
						if (!asset || asset.ownerId !== me.id || !asset.mimeType.startsWith("image/"))
							throw invalidField("avatarAssetId", "The 'avatarAssetId' field must be an image you uploaded.");
					}
					Object.assign(set, { avatarAssetId: p.avatarAssetId, avatarUrl: null });
				} else if (p.avatarUrl !== undefined) {
					if (p.avatarUrl !== null && !/^https?:\/\//i.test(p.avatarUrl)) throw invalidField("avatarUrl", "The 'avatarUrl' field must be an http(s) URL.");
					Object.assign(set, { avatarUrl: p.avatarUrl, avatarAssetId: null });
				}
				const doc = await this.db.users.updateById(me.id, { $set: set });
				if (!doc) throw notFound("User");
				await this.cleanCache(cacheKey("users.get", me.id));
				const user = this.toUser(doc);
				ctx.broadcast("user.updated", { user });
				return user;
			}
		}
	},

	methods: {
		toUser(doc: UserDoc): User {
			const avatarUrl = doc.avatarAssetId ? signedAssetUrl(chatConfig(this.broker).jwt.secret, doc.avatarAssetId, "thumb", null) : doc.avatarUrl;
			return { id: doc._id, username: doc.username, displayName: doc.displayName, avatarUrl: avatarUrl ?? null, statusText: doc.statusText ?? "" };
		},
		async findDoc(id: string): Promise<UserDoc> {
			const doc = await this.db.users.findById(id);
			if (!doc) throw notFound("User");
			return doc;
		}
	}
};

export default UsersService;
