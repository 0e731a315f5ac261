import type { Collection } from "../../mixins/db.mixin.ts";
import { PICTURE_USE } from "../../lib/avatars.ts";
import { conflict, invalidField } from "../../lib/errors.ts";
import { describeAsset, type AssetDescription, type AssetDoc } from "./documents.ts";

export interface ClaimRequest {
	ids: string[];
	ownerId: string;
	use: string;
	/** Pictures: images only. */
	images?: boolean;
	/** The field refusals name (`attachments`, `avatarAssetId`). */
	field: string;
}

/**
 * An asset serves one message, or pictures: deleting a message hides its attachments (assets.hide), which
 * must not break another message, a profile or a group that shows the same file. So an asset is claimed by
 * its first use; another use is refused (409 ASSET_IN_USE: upload the file again). Claims are conditional
 * writes, so two sends racing for one asset cannot both win; a refused claim releases what it took.
 */
export async function claimAssets(assets: Collection<AssetDoc>, request: ClaimRequest): Promise<AssetDescription[]> {
	const { ids, ownerId, use, field } = request;
	const docs = new Map((await assets.findByIds(ids)).map(d => [d._id, d]));
	for (const id of ids) {
		const doc = docs.get(id);
		// Anything else is as unknown as a missing id.
		if (!doc || doc.hiddenAt || doc.ownerId !== ownerId) throw invalidField(field, `The '${field}' field names an unknown asset (${id}).`);
		if (request.images && !doc.mimeType.startsWith("image/")) throw invalidField(field, `The '${field}' field must be an image you uploaded.`);
	}
	const taken: string[] = [];
	for (const id of ids) {
		if (docs.get(id)!.usedBy === use) continue;
		// Counted as changed (MongoDB counts modified documents, NeDB matched ones: only a free asset is both).
		const free = { _id: id, $or: [{ usedBy: { $exists: false } }, { usedBy: null }] };
		if ((await assets.updateMany(free, { $set: { usedBy: use } })) === 1) {
			taken.push(id);
			continue;
		}
		// Taken meanwhile: by this same use (a retry racing its first attempt) is as good as by us.
		const now = await assets.findById(id);
		if (now?.usedBy === use) continue;
		if (taken.length) await assets.updateMany({ _id: { $in: taken }, usedBy: use }, { $set: { usedBy: null } });
		throw conflict(
			`The asset ${id} is already ${now?.usedBy === PICTURE_USE ? "a picture" : "attached to another message"}: upload the file again to share it once more`,
			"ASSET_IN_USE"
		);
	}
	return ids.map(id => describeAsset(docs.get(id)!));
}
