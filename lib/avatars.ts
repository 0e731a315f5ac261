import type { Context } from "moleculer";
import { signedAssetUrl } from "./asset-urls.ts";
import { invalidField } from "./errors.ts";

/**
 * Pictures of profiles and groups: an image the one who sets it uploaded (`avatarAssetId`). Its URL is
 * signed without expiry, as everyone who sees the profile or the group may load it.
 */

export const avatarUrlOf = (secret: string, assetId: string): string => signedAssetUrl(secret, assetId, "thumb", null);

/** 422 naming avatarAssetId unless it is an image `userId` uploaded (asked of `assets.describe`). */
export async function assertOwnImage(ctx: Context, assetId: string, userId: string): Promise<void> {
	const asset = await ctx.call<{ ownerId: string; mimeType: string } | null, { id: string }>("assets.describe", { id: assetId });
	if (!asset || asset.ownerId !== userId || !asset.mimeType.startsWith("image/"))
		throw invalidField("avatarAssetId", "The 'avatarAssetId' field must be an image you uploaded.");
}
