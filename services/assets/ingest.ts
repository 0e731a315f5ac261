import type { Readable } from "node:stream";
import type { Logger } from "moleculer";
import type { AssetPurpose } from "../../contract/assets.ts";
import { invalidField, unsupportedMediaType } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { readImageInfo, writeThumbnail } from "../../lib/storage/images.ts";
import type { AssetStorage } from "../../lib/storage/index.ts";
import type { StagedFile, StagingArea } from "../../lib/storage/staging.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { AssetDoc } from "./documents.ts";
import { resolveFileType, sanitizeFileName, SNIFF_BYTES } from "./file-types.ts";

export interface IngestRequest {
	ownerId: string;
	name: string;
	claimedType: string | undefined;
	purpose: AssetPurpose;
}

const ALLOWED = "Only images, PDF, text, office documents, archives, audio and video can be shared.";

/**
 * Turns received bytes into assets: streamed to the staging folder within the size limit, typed from
 * their first bytes, measured and thumbnailed when they are an image, then kept by the storage driver.
 */
export class Ingest {
	private readonly assets: Collection<AssetDoc>;
	private readonly storage: AssetStorage;
	private readonly staging: StagingArea;
	private readonly maxBytes: number;
	private readonly logger: Logger;

	constructor(deps: { assets: Collection<AssetDoc>; storage: AssetStorage; staging: StagingArea; maxBytes: number; logger: Logger }) {
		this.assets = deps.assets;
		this.storage = deps.storage;
		this.staging = deps.staging;
		this.maxBytes = deps.maxBytes;
		this.logger = deps.logger;
	}

	/** A body past the size limit is refused (413) with nothing of it left on disk. */
	receive(source: Readable): Promise<StagedFile> {
		return this.staging.receive(source, { maxBytes: this.maxBytes, headBytes: SNIFF_BYTES });
	}

	discard(staged: StagedFile): Promise<void> {
		return this.staging.discard(staged.path);
	}

	/** Whatever happens, the staged file is gone after. */
	async store(staged: StagedFile, request: IngestRequest): Promise<AssetDoc> {
		let thumbnail: string | null = null;
		try {
			if (staged.size === 0) throw invalidField("file", "The file is empty.", "empty");
			const name = sanitizeFileName(request.name);
			const verdict = resolveFileType(staged.head, request.claimedType, name);
			if (!verdict.ok) {
				if (verdict.reason === "mismatch")
					throw unsupportedMediaType(`The file's content is ${verdict.detected}, which does not match its declared type ${request.claimedType}.`);
				throw unsupportedMediaType(ALLOWED);
			}
			const { mimeType, category } = verdict.type;
			const avatar = request.purpose === "avatar";
			const image = category === "image";
			if (avatar && !image) throw unsupportedMediaType("An avatar must be an image.");
			const info = image ? await readImageInfo(staged.path) : null;
			if (avatar && !info) throw unsupportedMediaType("The avatar image could not be read.");
			if (info && this.storage.rendersThumbnails) {
				const target = this.staging.tempPath(".webp");
				thumbnail = target;
				if (!(await writeThumbnail(staged.path, target, avatar))) {
					await this.staging.discard(target);
					thumbnail = null;
				}
			}
			const _id = newId();
			const saved = await this.storage.save(_id, { path: staged.path, size: staged.size, mimeType, image, avatar }, thumbnail);
			const doc: AssetDoc = {
				_id,
				ownerId: request.ownerId,
				name,
				size: staged.size,
				mimeType,
				category,
				purpose: request.purpose,
				sha256: staged.sha256,
				width: saved.width ?? info?.width ?? null,
				height: saved.height ?? info?.height ?? null,
				hasThumbnail: saved.hasThumbnail,
				location: saved.location,
				createdAt: new Date(),
				hiddenAt: null
			};
			try {
				return await this.assets.insert(doc);
			} catch (err) {
				await this.storage.remove(_id, saved.location).catch(e => this.logger.warn("Could not remove an unrecorded asset", _id, e));
				throw err;
			}
		} finally {
			await this.staging.discard(staged.path);
			if (thumbnail) await this.staging.discard(thumbnail);
		}
	}
}
