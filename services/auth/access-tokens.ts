import { createSecretKey, randomBytes, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import { unauthorized } from "../../lib/errors.ts";
import type { SessionUser } from "../../lib/session.ts";

/** `sessionId`: the sign-in (refresh token family) the token was issued to; absent in tokens from before it was. `issuedAt` in ms. */
export type VerifiedAccess = SessionUser & { exp: number; issuedAt: number; sessionId?: string };

/**
 * Short-lived HS256 access tokens, checked without a database read. The key is a KeyObject made once:
 * given a string, jsonwebtoken first tries it as a PEM public key and throws on every sign and verify.
 *
 * Sessions can end before their tokens expire: `revoke(userId, at)` (from the `auth.sessions.revoked` event,
 * on every auth node) refuses that user's tokens issued up to `at`; `endSession(sessionId, at)` (from
 * `auth.session.ended`: a logout, a reused refresh token) refuses every token of that one sign-in. An entry is
 * needed only as long as such a token could still be valid, so the maps stay small.
 */
export class AccessTokens {
	readonly #key: KeyObject;
	readonly #ttlSeconds: number;
	readonly #revokedAt = new Map<string, number>();
	readonly #endedSessions = new Map<string, number>();

	constructor(secret: string, ttlSeconds: number) {
		this.#key = createSecretKey(Buffer.from(secret, "utf8"));
		this.#ttlSeconds = ttlSeconds;
	}

	sign(user: SessionUser, sessionId: string, now = Date.now()): string {
		// `iat` has whole seconds; `at` tells a token issued just after a revocation from one just before it.
		return jwt.sign({ typ: "access", username: user.username, at: now, sid: sessionId }, this.#key, {
			algorithm: "HS256",
			subject: user.id,
			expiresIn: this.#ttlSeconds,
			jwtid: randomBytes(8).toString("hex")
		});
	}

	verify(token: string, now = Date.now()): VerifiedAccess {
		let claims: jwt.JwtPayload;
		try {
			claims = jwt.verify(token, this.#key, { algorithms: ["HS256"] }) as jwt.JwtPayload;
		} catch (err) {
			if (err instanceof jwt.TokenExpiredError) throw unauthorized("Access token expired", "TOKEN_EXPIRED");
			throw unauthorized("Invalid token", "INVALID_TOKEN");
		}
		if (claims.typ !== "access" || typeof claims.sub !== "string") throw unauthorized("Invalid token", "INVALID_TOKEN");
		const issuedAt = typeof claims.at === "number" ? claims.at : (claims.iat ?? 0) * 1000;
		const revokedAt = this.#revokedAt.get(claims.sub);
		if (revokedAt !== undefined) {
			if (issuedAt <= revokedAt) throw unauthorized("This session was ended; sign in again", "SESSION_REVOKED");
			if (now - revokedAt > this.#ttlSeconds * 1000) this.#revokedAt.delete(claims.sub);
		}
		const sessionId = typeof claims.sid === "string" ? claims.sid : undefined;
		if (sessionId !== undefined && this.#endedSessions.has(sessionId)) throw unauthorized("This session was ended; sign in again", "SESSION_REVOKED");
		return { id: claims.sub, username: String(claims.username), exp: claims.exp ?? 0, issuedAt, ...(sessionId !== undefined ? { sessionId } : {}) };
	}

	revoke(userId: string, at: number, now = Date.now()): void {
		this.#remember(this.#revokedAt, userId, at, now);
	}

	endSession(sessionId: string, at: number, now = Date.now()): void {
		this.#remember(this.#endedSessions, sessionId, at, now);
	}

	/** Keeps `key` ended at `at` (the later of two ends) while a token from before it may still be valid. */
	#remember(ends: Map<string, number>, key: string, at: number, now: number): void {
		const ttlMs = this.#ttlSeconds * 1000;
		if (now - at > ttlMs) return;
		ends.set(key, Math.max(at, ends.get(key) ?? 0));
		for (const [id, when] of ends) if (now - when > ttlMs) ends.delete(id);
	}

	get ttlSeconds(): number {
		return this.#ttlSeconds;
	}

	/** Revocations a restarted node must know: those whose tokens may still be valid. */
	get revocationWindowMs(): number {
		return this.#ttlSeconds * 1000;
	}
}
