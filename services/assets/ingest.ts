import type { Readable } from "node:stream";
import type { Logger } from "moleculer";
import type { AssetPurpose } from "../../contract/assets.ts";
import { invalidField, quotaExceeded, unsupportedMediaType } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { readImageInfo, writeThumbnail } from "../../lib/storage/images.ts";
import type { AssetStorage } from "../../lib/storage/index.ts";
import type { StagedFile, StagingArea } from "../../lib/storage/staging.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { AssetDoc } from "./documents.ts";
import { INLINE_IMAGE_TYPES, resolveFileType, sanitizeFileName, SNIFF_BYTES } from "./file-types.ts";

export interface IngestRequest {
	ownerId: string;
	name: string;
	claimedType: string | undefined;
	purpose: AssetPurpose;
	/** Stored by the server itself (a link preview's image): no user's quota, and it must be an image the server can read. */
	fetchedImage?: boolean;
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
	/** 0: no quota. */
	private readonly quotaBytes: number;
	private readonly logger: Logger;

	constructor(deps: { assets: Collection<AssetDoc>; storage: AssetStorage; staging: StagingArea; maxBytes: number; quotaBytes: number; logger: Logger }) {
		this.assets = deps.assets;
		this.storage = deps.storage;
		this.staging = deps.staging;
		this.maxBytes = deps.maxBytes;
		this.quotaBytes = deps.quotaBytes;
		this.logger = deps.logger;
	}

	/** Bytes of every asset the user owns (hidden ones too: they stay stored). */
	async usedBytes(ownerId: string): Promise<number> {
		const owned = await this.assets.find({ ownerId });
		return owned.reduce((sum, doc) => sum + (doc.size ?? 0), 0);
	}

	/** Refuses (413) a file of `size` bytes that would take the owner past their quota. */
	async assertFits(ownerId: string, size: number): Promise<void> {
		if (!this.quotaBytes) return;
		const used = await this.usedBytes(ownerId);
		if (used + size > this.quotaBytes) throw quotaExceeded(this.quotaBytes, used);
	}

	/**
	 * A body past the size limit, or past what is left of the owner's quota, is refused (413) with nothing
	 * of it left on disk. Without an owner (resumable chunks, assembled) only the size limit applies here.
	 */
	async receive(source: Readable, ownerId?: string): Promise<StagedFile> {
		if (!ownerId || !this.quotaBytes) return this.staging.receive(source, { maxBytes: this.maxBytes, headBytes: SNIFF_BYTES });
		const used = await this.usedBytes(ownerId);
		const room = this.quotaBytes - used;
		if (room <= 0) {
			source.resume();
			throw quotaExceeded(this.quotaBytes, used);
		}
		if (room >= this.maxBytes) return this.staging.receive(source, { maxBytes: this.maxBytes, headBytes: SNIFF_BYTES });
		return this.staging.receive(source, { maxBytes: room, headBytes: SNIFF_BYTES, overLimit: () => quotaExceeded(this.quotaBytes, used) });
	}

	discard(staged: StagedFile): Promise<void> {
		return this.staging.discard(staged.path);
	}

	/** Whatever happens, the staged file is gone after. */
	async store(staged: StagedFile, request: IngestRequest): Promise<AssetDoc> {
		let thumbnail: string | null = null;
		try {
			if (staged.size === 0) throw invalidField("file", "The file is empty.", "empty");
			// Checked again last: two uploads of one user may have been received side by side.
			if (!request.fetchedImage) await this.assertFits(request.ownerId, staged.size);
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
			if (request.fetchedImage && (!info || !INLINE_IMAGE_TYPES.has(mimeType))) throw unsupportedMediaType("Not an image that can be shown inline.");
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
