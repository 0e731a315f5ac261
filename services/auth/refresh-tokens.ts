import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { unauthorized } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { RefreshFamilyDoc, RefreshTokenDoc } from "./documents.ts";

function hashSecret(secret: string): string {
	return createHash("sha256").update(secret).digest("hex");
}

const invalid = () => unauthorized("Refresh token is invalid or expired", "INVALID_REFRESH_TOKEN");
const reused = () => unauthorized("Refresh token was already used; the session has been revoked", "REFRESH_TOKEN_REUSED");

/** Why a sign-in's family was revoked: its holder signed out, or one of its rotated tokens came back. */
export type FamilyEnd = "logout" | "reused";

export interface RefreshTokenOptions {
	ttlSeconds: number;
	/** How long after a rotation the rotated token still answers with its successor (REFRESH_TOKEN_RETRY_WINDOW). */
	retrySeconds: number;
	/** Every auth node must stop that sign-in's access tokens too (called once per family). */
	onFamilyRevoked(family: { familyId: string; userId: string; at: number; why: FamilyEnd }): Promise<void>;
}

/** A sign-in's id (its family) and its newest refresh token. */
export interface IssuedRefresh {
	refreshToken: string;
	sessionId: string;
}

/**
 * Rotating refresh tokens `<id>.<secret>` (only a hash of the secret is stored), one family per sign-in.
 *
 * A rotated token presented again revokes its whole family (a stolen copy came back), with one exception: a
 * client whose answer was lost (a reload or a dropped connection in the middle of a refresh) presents the same
 * token again, so within `retrySeconds` of the rotation, and as long as the successor was never used, the answer
 * is the same successor again. Its secret is kept on the rotated token sealed with a key derived from the rotated
 * token's own secret (which only its holders have: the store and JWT_SECRET together reveal nothing), and only
 * until the successor is rotated in turn. A successor handed out twice is marked `shared`: its own rotation allows
 * no retry, so whoever of its two holders uses it second revokes the family, at the next refresh at the latest.
 * Concurrent refreshes of one token get one successor. The family's revocation is sticky and checked on every use
 * and again after a new token is written, so no token of a revoked family survives.
 */
export class RefreshTokens {
	readonly #tokens: Collection<RefreshTokenDoc>;
	readonly #families: Collection<RefreshFamilyDoc>;
	readonly #options: RefreshTokenOptions;

	constructor(tokens: Collection<RefreshTokenDoc>, families: Collection<RefreshFamilyDoc>, options: RefreshTokenOptions) {
		this.#tokens = tokens;
		this.#families = families;
		this.#options = options;
	}

	/** A new sign-in: its family and first token. */
	async issue(userId: string): Promise<IssuedRefresh> {
		const familyId = newId();
		await this.#families.insert({ _id: familyId, userId, createdAt: new Date() });
		const next = this.#next(userId, familyId);
		await this.#tokens.insert(next.doc);
		return { refreshToken: next.token, sessionId: familyId };
	}

	/** The token's record, if `token` is one of ours with the right secret. */
	async find(token: string | undefined): Promise<RefreshTokenDoc | null> {
		const [tokenId, secret] = token?.split(".") ?? [];
		const doc = tokenId && secret ? await this.#tokens.findById(tokenId) : null;
		if (!doc) return null;
		return timingSafeEqual(Buffer.from(hashSecret(secret)), Buffer.from(doc.secretHash)) ? doc : null;
	}

	/**
	 * Exchanges a token for the next one of its family. `issueFor` makes the answer's other half (it may refuse
	 * by throwing, e.g. for a user who no longer exists).
	 */
	async rotate<T>(token: string, issueFor: (userId: string, issued: IssuedRefresh) => Promise<T>, now = Date.now()): Promise<T> {
		let doc = await this.find(token);
		if (!doc) throw invalid();
		if (doc.revokedAt || new Date(doc.expiresAt).getTime() < now || (await this.familyRevoked(doc.familyId))) throw invalid();
		const sealKey = successorKey(token);
		let successor: string;
		if (doc.rotatedAt) successor = await this.#retried(doc, sealKey, now);
		else {
			const next = this.#next(doc.userId, doc.familyId);
			// Only one of concurrent refreshes with the same token rotates it; the others answer as its retries.
			const rotation = {
				rotatedAt: new Date(now),
				successorId: next.doc._id,
				...(doc.shared ? {} : { successorSealed: seal(sealKey, next.token) })
			};
			const won = await this.#tokens.updateMany({ _id: doc._id, rotatedAt: { $exists: false } }, { $set: rotation });
			if (won === 1) {
				await this.#tokens.insert(next.doc);
				// This token was used: what its predecessor kept for a retry is of no use to anyone now.
				await this.#tokens.updateMany(
					{ familyId: doc.familyId, successorSealed: { $exists: true }, _id: { $ne: doc._id } },
					{ $unset: { successorSealed: true } }
				);
				successor = next.token;
			} else {
				doc = await this.#tokens.findById(doc._id);
				if (!doc?.rotatedAt) throw invalid();
				successor = await this.#retried(doc, sealKey, now);
			}
		}
		const answer = await issueFor(doc.userId, { refreshToken: successor, sessionId: doc.familyId });
		// The family may have been revoked while the answer was made (a holder of a rotated token came back).
		if (await this.familyRevoked(doc.familyId)) throw reused();
		return answer;
	}

	/** The successor again for a retry of a lost answer; any other use of a rotated token revokes the family. */
	async #retried(doc: RefreshTokenDoc, sealKey: Buffer, now: number): Promise<string> {
		const rotatedAt = new Date(doc.rotatedAt!).getTime();
		const inWindow = this.#options.retrySeconds > 0 && now - rotatedAt <= this.#options.retrySeconds * 1000;
		// The successor may still be on its way to the store (a concurrent rotation): then it was not used.
		const successor = inWindow && doc.successorId ? await this.#tokens.findById(doc.successorId) : null;
		const token = inWindow && !successor?.rotatedAt && !successor?.revokedAt ? unseal(sealKey, doc.successorSealed) : null;
		if (token === null) {
			await this.revokeFamily(doc.familyId, "reused");
			throw reused();
		}
		// Two holders now: its rotation allows no retry.
		await this.#tokens.updateMany({ _id: doc.successorId, shared: { $exists: false } }, { $set: { shared: true } });
		return token;
	}

	/** The family first (sticky, checked on every refresh), then its tokens. */
	async revokeFamily(familyId: string, why: FamilyEnd): Promise<void> {
		const revokedAt = new Date();
		let family = await this.#families.findById(familyId);
		if (!family) {
			// A family from before families were stored: record it.
			const userId = (await this.#tokens.findOne({ familyId }))?.userId ?? "";
			await this.#families.insertIfAbsent({ _id: familyId, userId, createdAt: revokedAt });
			family = await this.#families.findById(familyId);
		}
		const ended = await this.#families.updateMany({ _id: familyId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
		await this.#tokens.updateMany({ familyId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
		if (ended === 1 && family) await this.#options.onFamilyRevoked({ familyId, userId: family.userId, at: revokedAt.getTime(), why });
	}

	/** Every session of the user; returns how many sign-ins were still alive. */
	async revokeUser(userId: string, revokedAt = new Date()): Promise<number> {
		const families = await this.#families.updateMany({ userId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
		// Tokens too: those of sessions from before families were stored have no family to check.
		await this.#tokens.updateMany({ userId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
		return families;
	}

	async familyRevoked(familyId: string): Promise<boolean> {
		return Boolean((await this.#families.findById(familyId))?.revokedAt);
	}

	/** Sign-ins ended since `since` (a restarted node must refuse their access tokens until they expire). */
	async revokedSince(since: Date): Promise<{ familyId: string; at: number }[]> {
		const families = await this.#families.find({ revokedAt: { $gt: since } });
		return families.map(f => ({ familyId: f._id, at: new Date(f.revokedAt!).getTime() }));
	}

	#next(userId: string, familyId: string): { doc: RefreshTokenDoc; token: string } {
		const secret = randomBytes(32).toString("base64url");
		const now = Date.now();
		const doc: RefreshTokenDoc = {
			_id: newId(),
			userId,
			familyId,
			secretHash: hashSecret(secret),
			expiresAt: new Date(now + this.#options.ttlSeconds * 1000),
			createdAt: new Date(now)
		};
		return { doc, token: `${doc._id}.${secret}` };
	}
}

/** The key that seals a token's successor: derived from the token's own secret, so only its holders can unseal it. */
function successorKey(token: string): Buffer {
	const [tokenId, secret] = token.split(".");
	return Buffer.from(hkdfSync("sha256", secret, tokenId, "refresh-successor", 32));
}

function seal(key: Buffer, token: string): string {
	const iv = randomBytes(12);
	const cipher = createCipheriv("aes-256-gcm", key, iv);
	const sealed = Buffer.concat([cipher.update(token, "utf8"), cipher.final()]);
	return [iv, cipher.getAuthTag(), sealed].map(b => b.toString("base64url")).join(".");
}

/** null for a token rotated before successors were kept, or once its successor was rotated in turn. */
function unseal(key: Buffer, sealed: string | undefined): string | null {
	const [iv, tag, data] = (sealed ?? "").split(".").map(part => Buffer.from(part, "base64url"));
	if (!iv || !tag || !data) return null;
	try {
		const decipher = createDecipheriv("aes-256-gcm", key, iv);
		decipher.setAuthTag(tag);
		return Buffer.concat([decipher.update(data), decipher.final()]).toString("utf8");
	} catch {
		return null;
	}
}
