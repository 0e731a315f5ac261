import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import bcrypt from "bcrypt";
import jwt from "jsonwebtoken";
import type { Context, ServiceSchema } from "moleculer";
import type { TokenPair, User } from "../contract/users.ts";
import { DbCollections, type Collection, type DbMethods } from "../mixins/db.mixin.ts";
import { chatConfig } from "../lib/config.ts";
import { unauthorized } from "../lib/errors.ts";
import { newId } from "../lib/ids.ts";
import { params, USERNAME_PATTERN } from "../lib/params.ts";
import type { ResponseMeta, SessionUser } from "../lib/session.ts";

interface CredentialDoc {
	_id: string; // the user's id
	passwordHash: string;
	createdAt: Date;
}

interface RefreshTokenDoc {
	_id: string;
	userId: string;
	familyId: string;
	secretHash: string;
	expiresAt: Date;
	createdAt: Date;
	rotatedAt?: Date;
	revokedAt?: Date;
}

interface AuthThis extends DbMethods {
	db: { credentials: Collection<CredentialDoc>; refreshTokens: Collection<RefreshTokenDoc> };
	dummyHash: string;
	hashPassword(password: string): Promise<string>;
	issueTokens(user: SessionUser, familyId?: string): Promise<TokenPair>;
	revokeFamily(familyId: string): Promise<void>;
}

const passwordParam = { type: "string", min: 8, max: 128 } as const;

/**
 * bcrypt reads only 72 bytes; hashing first makes every character of a long password count
 * (base64 of SHA-256 is 44 bytes and has no NUL).
 */
function prehash(password: string): string {
	return createHash("sha256").update(password, "utf8").digest("base64");
}

function hashSecret(secret: string): string {
	return createHash("sha256").update(secret).digest("hex");
}

const AuthService: ServiceSchema<{}, {}, AuthThis> = {
	name: "auth",
	mixins: [
		DbCollections({
			credentials: {},
			refreshTokens: { indexes: [{ fields: { familyId: 1 } }, { fields: { userId: 1 } }] }
		})
	],

	actions: {
		register: {
			params: params({
				username: {
					type: "string",
					trim: true,
					lowercase: true,
					pattern: USERNAME_PATTERN,
					messages: { stringPattern: "The 'username' field must be 3–32 characters of a-z, 0-9, _ . -" }
				},
				password: passwordParam,
				displayName: { type: "string", trim: true, min: 1, max: 64, optional: true }
			}),
			async handler(ctx: Context<{ username: string; password: string; displayName?: string }, ResponseMeta>) {
				const passwordHash = await this.hashPassword(ctx.params.password);
				const user = await ctx.call<User, object>("users.create", { username: ctx.params.username, displayName: ctx.params.displayName });
				try {
					await this.db.credentials.insert({ _id: user.id, passwordHash, createdAt: new Date() });
				} catch (err) {
					await ctx.call("users.remove", { id: user.id });
					throw err;
				}
				const tokens = await this.issueTokens({ id: user.id, username: user.username });
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = "/api/users/profile";
				return { user, ...tokens };
			}
		},

		login: {
			params: params({ username: { type: "string", trim: true, min: 1, max: 64 }, password: { type: "string", min: 1, max: 128 } }),
			async handler(ctx: Context<{ username: string; password: string }>) {
				const user = await ctx.call<User | null, object>("users.byUsername", { username: ctx.params.username });
				const credential = user ? await this.db.credentials.findById(user.id) : null;
				// Compare against a dummy hash when the user is unknown, so timing does not reveal which usernames exist.
				const ok = await bcrypt.compare(prehash(ctx.params.password), credential?.passwordHash ?? this.dummyHash);
				if (!user || !credential || !ok) throw unauthorized("Wrong username or password", "INVALID_CREDENTIALS");
				return { user, ...(await this.issueTokens({ id: user.id, username: user.username })) };
			}
		},

		/** Rotates the refresh token; presenting one that was already rotated revokes its whole family. */
		refresh: {
			params: params({ refreshToken: { type: "string", min: 10, max: 200 } }),
			async handler(ctx: Context<{ refreshToken: string }>): Promise<TokenPair> {
				const [tokenId, secret] = ctx.params.refreshToken.split(".");
				const doc = tokenId && secret ? await this.db.refreshTokens.findById(tokenId) : null;
				const invalid = () => unauthorized("Refresh token is invalid or expired", "INVALID_REFRESH_TOKEN");
				if (!doc) throw invalid();
				const given = Buffer.from(hashSecret(secret));
				if (!timingSafeEqual(given, Buffer.from(doc.secretHash))) throw invalid();
				if (doc.revokedAt || new Date(doc.expiresAt).getTime() < Date.now()) throw invalid();
				if (doc.rotatedAt) {
					await this.revokeFamily(doc.familyId);
					throw unauthorized("Refresh token was already used; the session has been revoked", "REFRESH_TOKEN_REUSED");
				}
				// Only one of two concurrent refreshes with the same token wins the rotation.
				const won = await this.db.refreshTokens.updateMany({ _id: doc._id, rotatedAt: { $exists: false } }, { $set: { rotatedAt: new Date() } });
				if (won !== 1) {
					await this.revokeFamily(doc.familyId);
					throw unauthorized("Refresh token was already used; the session has been revoked", "REFRESH_TOKEN_REUSED");
				}
				const [user] = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids: [doc.userId] });
				if (!user) throw invalid();
				return this.issueTokens({ id: user.id, username: user.username }, doc.familyId);
			}
		},

		logout: {
			params: params({ refreshToken: { type: "string", max: 200, optional: true } }),
			async handler(ctx: Context<{ refreshToken?: string }>) {
				const tokenId = ctx.params.refreshToken?.split(".")[0];
				const doc = tokenId ? await this.db.refreshTokens.findById(tokenId) : null;
				if (doc) await this.revokeFamily(doc.familyId);
				return { ok: true };
			}
		},

		/** Used by the gateways on every request and socket handshake; cheap (no database access). */
		resolveToken: {
			visibility: "public",
			readOnly: true,
			params: params({ token: { type: "string", min: 1, max: 4096 } }),
			handler(ctx: Context<{ token: string }>): SessionUser & { exp: number } {
				try {
					const claims = jwt.verify(ctx.params.token, chatConfig(this.broker).jwt.secret, { algorithms: ["HS256"] }) as jwt.JwtPayload;
					if (claims.typ !== "access" || typeof claims.sub !== "string") throw unauthorized("Invalid token", "INVALID_TOKEN");
					return { id: claims.sub, username: String(claims.username), exp: claims.exp ?? 0 };
				} catch (err) {
					if (err instanceof jwt.TokenExpiredError) throw unauthorized("Access token expired", "TOKEN_EXPIRED");
					throw unauthorized("Invalid token", "INVALID_TOKEN");
				}
			}
		}
	},

	methods: {
		hashPassword(password: string): Promise<string> {
			return bcrypt.hash(prehash(password), chatConfig(this.broker).bcryptCost);
		},

		async issueTokens(user: SessionUser, familyId: string = newId()): Promise<TokenPair> {
			const { secret, accessTtlSeconds, refreshTtlSeconds } = chatConfig(this.broker).jwt;
			const accessToken = jwt.sign({ typ: "access", username: user.username }, secret, {
				algorithm: "HS256",
				subject: user.id,
				expiresIn: accessTtlSeconds,
				jwtid: randomBytes(8).toString("hex")
			});
			const tokenSecret = randomBytes(32).toString("base64url");
			const doc: RefreshTokenDoc = {
				_id: newId(),
				userId: user.id,
				familyId,
				secretHash: hashSecret(tokenSecret),
				expiresAt: new Date(Date.now() + refreshTtlSeconds * 1000),
				createdAt: new Date()
			};
			await this.db.refreshTokens.insert(doc);
			return { accessToken, refreshToken: `${doc._id}.${tokenSecret}`, expiresIn: accessTtlSeconds };
		},

		async revokeFamily(familyId: string) {
			await this.db.refreshTokens.updateMany({ familyId, revokedAt: { $exists: false } }, { $set: { revokedAt: new Date() } });
		}
	},

	async started() {
		this.dummyHash = await this.hashPassword(randomBytes(16).toString("hex"));
	}
};

export default AuthService;
