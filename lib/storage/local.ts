import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { AssetVariant } from "../asset-urls.ts";
import { ID_PATTERN } from "../ids.ts";
import type { AssetStorage, Delivery, OriginalFile, SavedAsset } from "./driver.ts";

/**
 * Files under `<dir>/files/<first two hex digits>/<assetId>.<variant>`: names come from our own ids,
 * never from the client. Several nodes serving assets must share this directory (a volume).
 */
export class LocalStorage implements AssetStorage {
	readonly kind = "local" as const;
	readonly rendersThumbnails = true;
	private readonly root: string;

	constructor(dir: string) {
		this.root = path.join(dir, "files");
	}

	private fileOf(assetId: string, variant: AssetVariant): string {
		if (!ID_PATTERN.test(assetId)) throw new Error(`not an asset id: ${assetId}`);
		return path.join(this.root, assetId.slice(0, 2), `${assetId}.${variant}`);
	}

	async save(assetId: string, original: OriginalFile, thumbnailPath: string | null): Promise<SavedAsset> {
		const target = this.fileOf(assetId, "original");
		await mkdir(path.dirname(target), { recursive: true });
		// Staged files live under the same directory tree, so these renames are atomic.
		await rename(original.path, target);
		if (thumbnailPath) await rename(thumbnailPath, this.fileOf(assetId, "thumb"));
		return { location: { driver: "local" }, hasThumbnail: thumbnailPath != null };
	}

	async deliver(assetId: string, _location: unknown, variant: AssetVariant): Promise<Delivery | null> {
		const file = this.fileOf(assetId, variant);
		try {
			const info = await stat(file);
			return { kind: "file", size: info.size, open: range => createReadStream(file, range ?? {}) };
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
			throw err;
		}
	}

	async remove(assetId: string): Promise<void> {
		await Promise.all((["original", "thumb"] as const).map(v => rm(this.fileOf(assetId, v), { force: true })));
	}
}
