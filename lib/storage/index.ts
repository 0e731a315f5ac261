import type { UploadsConfig } from "../config.ts";
import { CloudinaryStorage } from "./cloudinary.ts";
import type { AssetStorage } from "./driver.ts";
import { LocalStorage } from "./local.ts";

/** Cloudinary when an account is configured, local disk under the uploads directory otherwise. */
export function createAssetStorage(config: UploadsConfig): AssetStorage {
	return config.cloudinaryUrl ? new CloudinaryStorage(config.cloudinaryUrl) : new LocalStorage(config.dir);
}

export type { AssetStorage, Delivery, OriginalFile, SavedAsset, StorageLocation } from "./driver.ts";
