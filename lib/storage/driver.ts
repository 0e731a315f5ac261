import type { Readable } from "node:stream";
import type { AssetVariant } from "../asset-urls.ts";

/** Where an asset's bytes live; kept in the asset's document so each driver finds its own files again. */
export type StorageLocation =
	{ driver: "local" } | { driver: "cloudinary"; publicId: string; resourceType: string; type: string; version: number; format: string | null };

/** A received, verified file ready to be kept. */
export interface OriginalFile {
	path: string;
	size: number;
	mimeType: string;
	image: boolean;
	avatar: boolean;
}

export interface SavedAsset {
	location: StorageLocation;
	hasThumbnail: boolean;
	/** Dimensions the store reported, when it measures them itself. */
	width?: number | null;
	height?: number | null;
}

export type Delivery = { kind: "file"; size: number; open(range?: { start: number; end: number }): Readable } | { kind: "redirect"; url: string };

/**
 * One interface over the places asset bytes can live. Files arrive already received to local disk,
 * sniffed and measured by the assets service; a driver only keeps, serves and removes them.
 */
export interface AssetStorage {
	readonly kind: StorageLocation["driver"];
	/** Local storage keeps thumbnails the service renders; Cloudinary derives its own by URL. */
	readonly rendersThumbnails: boolean;
	save(assetId: string, original: OriginalFile, thumbnailPath: string | null): Promise<SavedAsset>;
	/** Null when the bytes are gone (or the variant never existed). `exp`: our link's expiry (seconds; 0: none), for a redirect's own. */
	deliver(assetId: string, location: StorageLocation, variant: AssetVariant, avatar: boolean, exp?: number): Promise<Delivery | null>;
	remove(assetId: string, location: StorageLocation): Promise<void>;
}
