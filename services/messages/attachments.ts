import { randomUUID } from "node:crypto";
import type { Context } from "moleculer";
import type { StoredAttachment } from "../../contract/messages.ts";

/** The use of a message's attachments: its idempotency key when it has one, so a retried send claims them again. */
const messageUse = (clientKey: string | null) => `message:${clientKey ?? randomUUID()}`;

/**
 * What a message keeps of each attached asset: only your own uploads, each claimed for this message
 * alone (`use`, see assets' claims.ts), so deleting the message can hide them without breaking anything else.
 */
export async function resolveAttachments(ctx: Context, userId: string, refs: { assetId: string }[], clientKey: string | null): Promise<StoredAttachment[]> {
	if (refs.length === 0) return [];
	const use = messageUse(clientKey);
	const ids = [...new Set(refs.map(r => r.assetId))];
	const assets = await ctx.call<StoredAttachment[], object>("assets.claim", { ids, ownerId: userId, use, field: "attachments" });
	return assets.map(a => ({ id: a.id, name: a.name, size: a.size, mimeType: a.mimeType, width: a.width, height: a.height, hasThumbnail: a.hasThumbnail }));
}
