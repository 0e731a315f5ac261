import { ATTACHMENT_URL_TTL_SECONDS, signedAssetUrl } from "./asset-urls.ts";
import type { FileCategory } from "./file-types.ts";
import type { StorageLocation } from "./storage/driver.ts";

/** An avatar is shown to every signed-in user; an attachment only to the members of its conversation. */
export type AssetPurpose = "attachment" | "avatar";

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

/** What the owner of an upload sees. */
export interface Asset {
	id: string;
	name: string;
	size: number;
	mimeType: string;
	purpose: AssetPurpose;
	url: string;
	thumbnailUrl: string | null;
	width: number | null;
	height: number | null;
	createdAt: string;
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

export interface UploadStatus {
	uploadId: string;
	name: string;
	size: number;
	chunkSize: number;
	totalChunks: number;
	receivedChunks: number[];
	missingChunks: number[];
	assetId: string | null;
	expiresAt: string;
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

export function chunkLength(upload: Pick<UploadDoc, "size" | "chunkSize" | "totalChunks">, index: number): number {
	return index === upload.totalChunks - 1 ? upload.size - upload.chunkSize * (upload.totalChunks - 1) : upload.chunkSize;
}

export function uploadStatus(doc: UploadDoc): UploadStatus {
	const received = [...new Set(doc.received)].sort((a, b) => a - b);
	const have = new Set(received);
	return {
		uploadId: doc._id,
		name: doc.name,
		size: doc.size,
		chunkSize: doc.chunkSize,
		totalChunks: doc.totalChunks,
		receivedChunks: received,
		missingChunks: doc.assetId ? [] : Array.from({ length: doc.totalChunks }, (_, i) => i).filter(i => !have.has(i)),
		assetId: doc.assetId,
		expiresAt: new Date(doc.expiresAt).toISOString()
	};
}
