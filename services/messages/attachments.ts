import type { Context } from "moleculer";
import type { StoredAttachment } from "../../contract/messages.ts";
import { invalidField } from "../../lib/errors.ts";

/** What a message keeps of each attached asset. Only your own uploads can be attached. */
export async function resolveAttachments(ctx: Context, userId: string, refs: { assetId: string }[]): Promise<StoredAttachment[]> {
	if (refs.length === 0) return [];
	const ids = [...new Set(refs.map(r => r.assetId))];
	const assets = await ctx.call<(StoredAttachment & { ownerId: string })[], object>("assets.describeMany", { ids });
	const byId = new Map(assets.map(a => [a.id, a]));
	return ids.map(id => {
		const asset = byId.get(id);
		// Anything else is as unknown as a missing id.
		if (!asset || asset.ownerId !== userId) throw invalidField("attachments", `The 'attachments' field names an unknown asset (${id}).`);
		return { id, name: asset.name, size: asset.size, mimeType: asset.mimeType, width: asset.width, height: asset.height, hasThumbnail: asset.hasThumbnail };
	});
}
