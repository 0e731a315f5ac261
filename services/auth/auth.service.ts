import { createHash, randomBytes } from "node:crypto";
import bcrypt from "bcrypt";
import type { Context, ServiceSchema } from "moleculer";
import type { TokenPair, User } from "../../contract/users.ts";
import { chatConfig } from "../../lib/config.ts";
import { invalidField, unauthorized } from "../../lib/errors.ts";
import { LoginThrottle, rememberAddress } from "../../lib/login-throttle.ts";
import { displayNameParam, idParam, params, USERNAME_PATTERN } from "../../lib/params.ts";
import { tokenBuckets, type BucketOptions } from "../../lib/rate-limiter.ts";
import type { ResponseMeta, SessionEnded, SessionUser, UserContext } from "../../lib/session.ts";
import { DbCollections, type Collection } from "../../mixins/db.mixin.ts";
import { AccessTokens, type VerifiedAccess } from "./access-tokens.ts";
import type { CredentialDoc, RefreshFamilyDoc, RefreshTokenDoc } from "./documents.ts";
import { RefreshTokens, type FamilyEnd, type IssuedRefresh } from "./refresh-tokens.ts";

interface AuthThis {
	db: { credentials: Collection<CredentialDoc>; refreshTokens: Collection<RefreshTokenDoc>; refreshFamilies: Collection<RefreshFamilyDoc> };
	dummyHash: string;
	loginThrottle: LoginThrottle;
	accessTokens: AccessTokens;
	refreshTokens: RefreshTokens;
}

const passwordParam = { type: "string", min: 8, max: 128 } as const;

/**
 * bcrypt reads only 72 bytes; hashing first makes every character of a long password count
 * (base64 of SHA-256 is 44 bytes and has no NUL). The password is NFC-normalized first: the same
 * characters typed on another device or keyboard ("é" as one code point or as "e" + U+0301) are the
 * same password.
 */
function prehash(password: string, form: "NFC" | "as typed" = "NFC"): string {
	return createHash("sha256")
		.update(form === "NFC" ? password.normalize("NFC") : password, "utf8")
		.digest("base64");
}

/** Hashes of accounts registered before passwords were normalized were made of the password as typed. */
function legacyPrehash(password: string): string | null {
	return password.normalize("NFC") === password ? null : prehash(password, "as typed");
}

/** Whether `password` is the one `hash` was made of: "as typed" for a hash from before normalizing (to be replaced). */
async function passwordMatches(password: string, hash: string): Promise<"NFC" | "as typed" | false> {
	if (await bcrypt.compare(prehash(password), hash)) return "NFC";
	const legacy = legacyPrehash(password);
	return legacy !== null && (await bcrypt.compare(legacy, hash)) ? "as typed" : false;
}

/** Credentials, access tokens (access-tokens.ts) and rotating refresh tokens (refresh-tokens.ts). */
const AuthService: ServiceSchema<{}, {}, AuthThis> = {
	name: "auth",
	mixins: [
		DbCollections({
			credentials: { indexes: [{ fields: { sessionsRevokedAt: 1 }, sparse: true }] },
			refreshTokens: { indexes: [{ fields: { familyId: 1 } }, { fields: { userId: 1 } }] },
			refreshFamilies: { indexes: [{ fields: { userId: 1 } }, { fields: { revokedAt: 1 }, sparse: true }] }
		})
	],

	actions: {
		register: {
			// The address it registers from becomes one the account knows (LoginThrottle).
			clientAddress: true,
			params: params({
				username: {
					type: "string",
					trim: true,
					lowercase: true,
					pattern: USERNAME_PATTERN,
					messages: { stringPattern: "The 'username' field must be 3–32 characters of a-z, 0-9, _ . -" }
				},
				password: passwordParam,
				displayName: { ...displayNameParam, optional: true }
			}),
			async handler(ctx: Context<{ username: string; password: string; displayName?: string }, ResponseMeta & { clientAddress?: string }>) {
				const passwordHash = await hashPassword(this.broker, ctx.params.password);
				const user = await ctx.call<User, object>("users.create", { username: ctx.params.username, displayName: ctx.params.displayName });
				try {
					// The address it registered from is one the account knows (a REST registration; LoginThrottle).
					const knownAddresses = ctx.meta.clientAddress ? [this.loginThrottle.addressKey(ctx.meta.clientAddress)] : undefined;
					await this.db.credentials.insert({ _id: user.id, passwordHash, createdAt: new Date(), ...(knownAddresses ? { knownAddresses } : {}) });
				} catch (err) {
					await ctx.call("users.remove", { id: user.id });
					throw err;
				}
				const tokens = await issueTokens(this, user, await this.refreshTokens.issue(user.id));
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = "/api/users/profile";
				return { user, ...tokens };
			}
		},

		login: {
			// Sign-in attempts are limited per account and client address (LoginThrottle).
			clientAddress: true,
			params: params({ username: { type: "string", trim: true, min: 1, max: 64 }, password: { type: "string", min: 1, max: 128 } }),
			async handler(ctx: Context<{ username: string; password: string }, { clientAddress?: string }>) {
				const user = await ctx.call<User | null, object>("users.byUsername", { username: ctx.params.username });
				const credential = user ? await this.db.credentials.findById(user.id) : null;
				// The REST gateway names the client's address; other callers share one.
				const address = await this.loginThrottle.admitFrom(ctx.params.username.toLowerCase(), ctx.meta.clientAddress, credential?.knownAddresses);
				// Compare against a dummy hash when the user is unknown, so timing does not reveal which usernames exist.
				const match = await passwordMatches(ctx.params.password, credential?.passwordHash ?? this.dummyHash);
				if (!user || !credential || !match) throw unauthorized("Wrong username or password", "INVALID_CREDENTIALS");
				const set: Partial<CredentialDoc> = {};
				if (match === "as typed") set.passwordHash = await hashPassword(this.broker, ctx.params.password);
				if (credential.knownAddresses?.[0] !== address) set.knownAddresses = rememberAddress(credential.knownAddresses, address);
				if (Object.keys(set).length > 0) await this.db.credentials.updateById(credential._id, { $set: set });
				return { user, ...(await issueTokens(this, user, await this.refreshTokens.issue(user.id))) };
			}
		},

		/**
		 * Rotates the refresh token. Presenting one that was already rotated revokes its whole sign-in, unless it is
		 * a retry of a lost answer (within REFRESH_TOKEN_RETRY_WINDOW, its successor unused): that gets the same
		 * successor again (refresh-tokens.ts).
		 */
		refresh: {
			params: params({ refreshToken: { type: "string", min: 10, max: 200 } }),
			handler(ctx: Context<{ refreshToken: string }>): Promise<TokenPair> {
				return this.refreshTokens.rotate(ctx.params.refreshToken, async (userId, issued) => {
					const [user] = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids: [userId] });
					if (!user) throw unauthorized("Refresh token is invalid or expired", "INVALID_REFRESH_TOKEN");
					return issueTokens(this, user, issued);
				});
			}
		},

		/** Ends the sign-in the refresh token belongs to: its refresh tokens, its access tokens on every node, its sockets. */
		logout: {
			params: params({ refreshToken: { type: "string", max: 200, optional: true } }),
			async handler(ctx: Context<{ refreshToken?: string }>) {
				// Only the token's holder may end its session: its id alone (in logs, say) is not enough.
				const doc = await this.refreshTokens.find(ctx.params.refreshToken);
				if (doc) await this.refreshTokens.revokeFamily(doc.familyId, "logout");
				return { ok: true };
			}
		},

		/**
		 * An operator ends every session of a user (`kick` in the REPL): no refresh token of theirs works any
		 * more, and every auth node refuses their access tokens issued until now.
		 */
		revokeSessions: {
			visibility: "public",
			auth: "operator",
			params: params({ userId: idParam }),
			async handler(ctx: Context<{ userId: string }>): Promise<{ userId: string; sessions: number }> {
				const { userId } = ctx.params;
				// The caller (the REPL's kick) closes the sockets itself, counting them.
				const { sessions } = await endSessions(this, ctx, userId);
				return { userId, sessions };
			}
		},

		/**
		 * The signed-in user sets a new password, giving the current one. Every session of theirs ends, as with an
		 * operator's kick (other devices sign in again with the new password); the answer carries a new session
		 * for the device that changed it. Guesses of the current password are limited like sign-ins.
		 */
		changePassword: {
			// Guesses of the current password are limited like sign-ins.
			clientAddress: true,
			auth: "required",
			params: params({ currentPassword: { type: "string", min: 1, max: 128 }, newPassword: passwordParam }),
			async handler(
				ctx: UserContext<{ currentPassword: string; newPassword: string }> & Context<unknown, { clientAddress?: string }>
			): Promise<TokenPair & { user: User }> {
				const me = ctx.meta.user;
				const credential = await this.db.credentials.findById(me.id);
				await this.loginThrottle.admitFrom(me.username, ctx.meta.clientAddress, credential?.knownAddresses);
				if (!credential || !(await passwordMatches(ctx.params.currentPassword, credential.passwordHash)))
					throw invalidField("currentPassword", "The current password is not right.", "wrongPassword");
				if (ctx.params.newPassword.normalize("NFC") === ctx.params.currentPassword.normalize("NFC"))
					throw invalidField("newPassword", "The new password must differ from the current one.", "samePassword");
				await this.db.credentials.updateById(me.id, { $set: { passwordHash: await hashPassword(this.broker, ctx.params.newPassword) } });
				return restartSessions(this, ctx, PASSWORD_CHANGED);
			}
		},

		/** "Sign out of all other devices": every session of the user ends, as with a password change; this device gets a new one. */
		logoutOthers: {
			auth: "required",
			handler(ctx: UserContext): Promise<TokenPair & { user: User }> {
				return restartSessions(this, ctx, SIGNED_OUT_ELSEWHERE);
			}
		},

		/** Used by the gateways on every request and socket handshake; cheap (no database access). */
		resolveToken: {
			visibility: "public",
			readOnly: true,
			params: params({ token: { type: "string", min: 1, max: 4096 } }),
			handler(ctx: Context<{ token: string }>): VerifiedAccess {
				return this.accessTokens.verify(ctx.params.token);
			}
		}
	},

	events: {
		"auth.sessions.revoked"(ctx: Context<{ userId: string; at: number }>) {
			this.accessTokens.revoke(ctx.params.userId, ctx.params.at);
		},

		"auth.session.ended"(ctx: Context<SessionEnded>) {
			this.accessTokens.endSession(ctx.params.sessionId, ctx.params.at);
		}
	},

	created() {
		const { jwt } = chatConfig(this.broker);
		this.accessTokens = new AccessTokens(jwt.secret, jwt.accessTtlSeconds);
	},

	async started() {
		const config = chatConfig(this.broker);
		this.refreshTokens = new RefreshTokens(this.db.refreshTokens, this.db.refreshFamilies, {
			ttlSeconds: config.jwt.refreshTtlSeconds,
			retrySeconds: config.jwt.refreshRetrySeconds,
			onFamilyRevoked: async ({ familyId, userId, at, why }) => {
				// Every auth node, this one included, before the answer.
				this.accessTokens.endSession(familyId, at);
				const ended: SessionEnded = { userId, sessionId: familyId, at, reason: SESSION_END_REASONS[why] };
				await this.broker.broadcast("auth.session.ended", ended);
			}
		});
		this.dummyHash = await hashPassword(this.broker, randomBytes(16).toString("hex"));
		// Revocations from before this node started whose tokens may still be valid.
		const since = new Date(Date.now() - this.accessTokens.revocationWindowMs);
		for (const credential of await this.db.credentials.find({ sessionsRevokedAt: { $gt: since } }))
			this.accessTokens.revoke(credential._id, new Date(credential.sessionsRevokedAt!).getTime());
		for (const { familyId, at } of await this.refreshTokens.revokedSince(since)) this.accessTokens.endSession(familyId, at);
		const { login } = config;
		const limiter = (attempts: number, windowSeconds: number) => {
			const options: BucketOptions = { perSecond: attempts / windowSeconds, burst: attempts };
			return tokenBuckets(config, "login", options);
		};
		this.loginThrottle = new LoginThrottle(
			{
				byAddress: limiter(login.attemptsPerAddress, login.addressWindowSeconds),
				byAccount: limiter(login.attemptsPerAccount, login.accountWindowSeconds),
				byAddressNewAccounts: limiter(login.newAccountsPerAddress, login.addressWindowSeconds)
			},
			config.jwt.secret
		);
	},

	async stopped() {
		await this.loginThrottle?.close();
	}
};

function hashPassword(broker: Parameters<typeof chatConfig>[0], password: string): Promise<string> {
	return bcrypt.hash(prehash(password), chatConfig(broker).bcryptCost);
}

/** `notBefore`: the new access token must be issued after a revocation of the same millisecond. */
function issueTokens(service: AuthThis, user: SessionUser, { refreshToken, sessionId }: IssuedRefresh, notBefore = 0): TokenPair {
	const { accessTokens } = service;
	const accessToken = accessTokens.sign({ id: user.id, username: user.username }, sessionId, Math.max(Date.now(), notBefore));
	return { accessToken, refreshToken, expiresIn: accessTokens.ttlSeconds };
}

/** What the sign-in's other tabs show on their sign-in page. */
const SESSION_END_REASONS: Record<FamilyEnd, string> = {
	logout: "You signed out in another tab.",
	reused: "This session was ended for your security: it was used from somewhere else. Sign in again."
};

/** What the user's other devices show on their sign-in page. */
export const PASSWORD_CHANGED = "Your password was changed. Sign in with the new one.";
export const SIGNED_OUT_ELSEWHERE = "You signed out of this device from another one.";

/** Every session of the caller ends (`reason` for their sockets); the answer is a new one for the caller's device. */
async function restartSessions(service: AuthThis, ctx: UserContext, reason: string): Promise<TokenPair & { user: User }> {
	const me = ctx.meta.user;
	const { at } = await endSessions(service, ctx, me.id, reason);
	const [user] = await ctx.call<User[], { ids: string[] }>("users.getMany", { ids: [me.id] });
	return { user, ...issueTokens(service, user, await service.refreshTokens.issue(me.id), at + 1) };
}

/**
 * Ends every session of the user now: no refresh token of theirs works any more, every auth node refuses their
 * access tokens issued until now, and with a `reason` every gateway closes their sockets (`session.revoked`).
 */
async function endSessions(service: AuthThis, ctx: Context, userId: string, reason?: string): Promise<{ sessions: number; at: number }> {
	// The sign-ins end first, the cut-off for their access tokens is taken after: a refresh that checked its family before
	// this signed its token before the cut-off, and one that checks after finds the family ended (refresh-tokens.ts).
	const sessions = await service.refreshTokens.revokeUser(userId, new Date());
	const revokedAt = new Date();
	await service.db.credentials.updateById(userId, { $set: { sessionsRevokedAt: revokedAt } });
	// Every auth node, this one included, before the answer.
	service.accessTokens.revoke(userId, revokedAt.getTime());
	await ctx.broadcast("auth.sessions.revoked", { userId, at: revokedAt.getTime(), ...(reason ? { reason } : {}) });
	return { sessions, at: revokedAt.getTime() };
}

export default AuthService;
