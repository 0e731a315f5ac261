import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { unauthorized } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { RefreshFamilyDoc, RefreshTokenDoc } from "./documents.ts";

function hashSecret(secret: string): string {
	return createHash("sha256").update(secret).digest("hex");
}

const invalid = () => unauthorized("Refresh token is invalid or expired", "INVALID_REFRESH_TOKEN");
const reused = () => unauthorized("Refresh token was already used; the session has been revoked", "REFRESH_TOKEN_REUSED");

/**
 * Rotating refresh tokens `<id>.<secret>` (only a hash of the secret is stored), one family per sign-in.
 * Presenting a token that was already rotated revokes its whole family; the family's revocation is sticky
 * and checked on every use and again after a new token is written, so no token of a revoked family survives.
 */
export class RefreshTokens {
	readonly #tokens: Collection<RefreshTokenDoc>;
	readonly #families: Collection<RefreshFamilyDoc>;
	readonly #ttlSeconds: number;

	constructor(tokens: Collection<RefreshTokenDoc>, families: Collection<RefreshFamilyDoc>, ttlSeconds: number) {
		this.#tokens = tokens;
		this.#families = families;
		this.#ttlSeconds = ttlSeconds;
	}

	/** A new token; without `familyId` a new sign-in (family). */
	async issue(userId: string, familyId?: string): Promise<string> {
		if (!familyId) {
			familyId = newId();
			await this.#families.insert({ _id: familyId, userId, createdAt: new Date() });
		}
		const secret = randomBytes(32).toString("base64url");
		const doc: RefreshTokenDoc = {
			_id: newId(),
			userId,
			familyId,
			secretHash: hashSecret(secret),
			expiresAt: new Date(Date.now() + this.#ttlSeconds * 1000),
			createdAt: new Date()
		};
		await this.#tokens.insert(doc);
		return `${doc._id}.${secret}`;
	}

	/** The token's record, if `token` is one of ours with the right secret. */
	async find(token: string | undefined): Promise<RefreshTokenDoc | null> {
		const [tokenId, secret] = token?.split(".") ?? [];
		const doc = tokenId && secret ? await this.#tokens.findById(tokenId) : null;
		if (!doc) return null;
		return timingSafeEqual(Buffer.from(hashSecret(secret)), Buffer.from(doc.secretHash)) ? doc : null;
	}

	/**
	 * Exchanges a token for a new one of the same family. `issueFor(userId)` makes the answer's other half
	 * (it may refuse by throwing, e.g. for a user who no longer exists).
	 */
	async rotate<T>(token: string, issueFor: (userId: string, refreshToken: string) => Promise<T>): Promise<T> {
		const doc = await this.find(token);
		if (!doc) throw invalid();
		if (doc.revokedAt || new Date(doc.expiresAt).getTime() < Date.now() || (await this.familyRevoked(doc.familyId))) throw invalid();
		if (doc.rotatedAt) {
			await this.revokeFamily(doc.familyId);
			throw reused();
		}
		// Only one of concurrent refreshes with the same token wins the rotation; the others revoke the family.
		const won = await this.#tokens.updateMany({ _id: doc._id, rotatedAt: { $exists: false } }, { $set: { rotatedAt: new Date() } });
		if (won !== 1) {
			await this.revokeFamily(doc.familyId);
			throw reused();
		}
		const answer = await issueFor(doc.userId, await this.issue(doc.userId, doc.familyId));
		// A loser may have revoked the family while the new token was being written: it must not survive that.
		if (await this.familyRevoked(doc.familyId)) throw reused();
		return answer;
	}

	/** The family first (sticky, checked on every refresh), then its tokens. */
	async revokeFamily(familyId: string): Promise<void> {
		const revokedAt = new Date();
		const family = await this.#families.findById(familyId);
		if (family) await this.#families.updateMany({ _id: familyId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
		else {
			// A family from before families were stored: record it revoked.
			const userId = (await this.#tokens.findOne({ familyId }))?.userId ?? "";
			await this.#families.insertIfAbsent({ _id: familyId, userId, createdAt: revokedAt, revokedAt });
			await this.#families.updateMany({ _id: familyId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
		}
		await this.#tokens.updateMany({ familyId, revokedAt: { $exists: false } }, { $set: { revokedAt } });
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
}
