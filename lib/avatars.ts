import type { Context } from "moleculer";
import { signedAssetUrl } from "./asset-urls.ts";

/**
 * Pictures of profiles and groups: an image the one who sets it uploaded (`avatarAssetId`). Its URL is
 * signed without expiry, as everyone who sees the profile or the group may load it.
 */

export const avatarUrlOf = (secret: string, assetId: string): string => signedAssetUrl(secret, assetId, "thumb", null);

/** Profile and group pictures share the one use of an asset (assets' claims.ts): none of them is ever hidden. */
export const PICTURE_USE = "picture";

/**
 * 422 naming avatarAssetId unless it is an image `userId` uploaded; 409 ASSET_IN_USE when a message carries
 * it (a deleted message hides its files). The asset is claimed as a picture (`assets.claim`).
 */
export async function assertOwnImage(ctx: Context, assetId: string, userId: string): Promise<void> {
	await ctx.call("assets.claim", { ids: [assetId], ownerId: userId, use: PICTURE_USE, images: true, field: "avatarAssetId" });
}
