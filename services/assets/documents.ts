import type { Asset, AssetPurpose } from "../../contract/assets.ts";
import { ATTACHMENT_URL_TTL_SECONDS, signedAssetUrl } from "../../lib/asset-urls.ts";
import type { StorageLocation } from "../../lib/storage/driver.ts";
import type { FileCategory } from "./file-types.ts";

export const ASSET_PURPOSES: AssetPurpose[] = ["attachment", "avatar"];

export interface AssetDoc {
	_id: string;
	ownerId: string;
	/** Display name, sanitized; never part of a storage path. */
	name: string;
	size: number;
	/** Decided from the file's bytes. */
	mimeType: string;
	category: FileCategory;
	purpose: AssetPurpose;
	sha256: string;
	width: number | null;
	height: number | null;
	hasThumbnail: boolean;
	location: StorageLocation;
	createdAt: Date;
	/** Set when the message carrying it was deleted: downloads answer 404 from then on. */
	hiddenAt: Date | null;
	/** What it serves since first used: `message:<key>` (one message) or `picture` (claims.ts); absent until then. */
	usedBy?: string | null;
	/** A link-preview image (owned by the server): whose quota it counts against (the message's author). */
	chargedTo?: string | null;
	/** A link-preview image: the message it was fetched for, the link, and whether it was attached (link-previews). */
	previewOf?: string | null;
	previewUrl?: string | null;
	previewShown?: boolean;
}

/** A resumable upload in progress: chunks arrive in any order, then `complete` assembles and checks them. */
export interface UploadDoc {
	_id: string;
	ownerId: string;
	name: string;
	size: number;
	mimeType: string;
	purpose: AssetPurpose;
	chunkSize: number;
	totalChunks: number;
	received: number[];
	createdAt: Date;
	/** Refreshed by every chunk; past it, the upload and its chunks are deleted. */
	expiresAt: Date;
	/** Set once completed, so a retried `complete` answers with the same asset. */
	assetId: string | null;
}

/** What other services learn of an asset (messages attach it, users make it an avatar). */
export interface AssetDescription {
	id: string;
	ownerId: string;
	name: string;
	size: number;
	mimeType: string;
	purpose: AssetPurpose;
	width: number | null;
	height: number | null;
	hasThumbnail: boolean;
}

export function toAsset(doc: AssetDoc, secret: string, now = Date.now()): Asset {
	const ttl = doc.purpose === "avatar" ? null : ATTACHMENT_URL_TTL_SECONDS;
	return {
		id: doc._id,
		name: doc.name,
		size: doc.size,
		mimeType: doc.mimeType,
		purpose: doc.purpose,
		url: signedAssetUrl(secret, doc._id, "original", ttl, now),
		thumbnailUrl: doc.hasThumbnail ? signedAssetUrl(secret, doc._id, "thumb", ttl, now) : null,
		width: doc.width,
		height: doc.height,
		createdAt: new Date(doc.createdAt).toISOString()
	};
}

export function describeAsset(doc: AssetDoc): AssetDescription {
	return {
		id: doc._id,
		ownerId: doc.ownerId,
		name: doc.name,
		size: doc.size,
		mimeType: doc.mimeType,
		purpose: doc.purpose,
		width: doc.width,
		height: doc.height,
		hasThumbnail: doc.hasThumbnail
	};
}
