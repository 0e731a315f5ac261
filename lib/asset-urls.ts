import { createHmac, timingSafeEqual } from "node:crypto";

export type AssetVariant = "original" | "thumb";

const HOUR = 3600;

function signature(secret: string, assetId: string, variant: AssetVariant, exp: number): string {
	return createHmac("sha256", secret).update(`asset:${assetId}:${variant}:${exp}`).digest("base64url").slice(0, 32);
}

/**
 * Browsers load images and downloads without an Authorization header, so asset URLs are
 * capabilities: signed by the server for viewers it already checked. Expiry is rounded up to
 * the hour so the same asset keeps the same URL for a while (and stays in the browser cache).
 * `ttlSeconds` null signs a URL that does not expire (avatars, visible to every signed-in user).
 */
export function signedAssetUrl(secret: string, assetId: string, variant: AssetVariant, ttlSeconds: number | null, now = Date.now()): string {
	const exp = ttlSeconds == null ? 0 : Math.ceil((now / 1000 + ttlSeconds) / HOUR) * HOUR;
	return `/api/assets/${assetId}/${variant}?exp=${exp}&sig=${signature(secret, assetId, variant, exp)}`;
}

export function verifyAssetUrl(secret: string, assetId: string, variant: AssetVariant, exp: number, sig: string, now = Date.now()): boolean {
	if (!Number.isInteger(exp) || exp < 0) return false;
	if (exp !== 0 && exp * 1000 < now) return false;
	const expected = Buffer.from(signature(secret, assetId, variant, exp));
	const given = Buffer.from(sig);
	return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Attachment URLs live a day (re-signed whenever history or a message is served again). */
export const ATTACHMENT_URL_TTL_SECONDS = 24 * HOUR;
