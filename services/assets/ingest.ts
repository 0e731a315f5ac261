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
	/** Stored by the server itself (a link preview's image): it must be an image the server can read. */
	fetchedImage?: boolean;
	/** A fetched image counts against this user's quota (the author of the message it previews). */
	chargedTo?: string | null;
	/** A fetched image: the message it previews, and the link it was fetched for (link-previews.ts). */
	previewOf?: string | null;
	previewUrl?: string | null;
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
	/**
	 * Bytes of files this node is storing right now, per user: taken (under that user's lock) before the slow part
	 * of `store` (thumbnail, the storage driver) and given back once the asset's document is written, so that
	 * uploads running side by side cannot all fit in the same room. This is per node (see docs/API.md, Assets).
	 */
	private readonly reserved = new Map<string, number>();
	/** Per user, the tail of the queue of quota checks: one check-and-reserve at a time for each user. */
	private readonly locks = new Map<string, Promise<unknown>>();

	constructor(deps: { assets: Collection<AssetDoc>; storage: AssetStorage; staging: StagingArea; maxBytes: number; quotaBytes: number; logger: Logger }) {
		this.assets = deps.assets;
		this.storage = deps.storage;
		this.staging = deps.staging;
		this.maxBytes = deps.maxBytes;
		this.quotaBytes = deps.quotaBytes;
		this.logger = deps.logger;
	}

	/** Bytes of every asset the user owns or is charged for (link-preview images; hidden ones too: they stay stored). */
	async usedBytes(ownerId: string): Promise<number> {
		const owned = await this.assets.find({ $or: [{ ownerId }, { chargedTo: ownerId }] });
		return owned.reduce((sum, doc) => sum + (doc.size ?? 0), 0);
	}

	private reservedBy(ownerId: string): number {
		return this.reserved.get(ownerId) ?? 0;
	}

	/** Runs `task` after every earlier one for this owner has settled (a promise chain per owner). */
	exclusive<T>(ownerId: string, task: () => Promise<T>): Promise<T> {
		const previous = this.locks.get(ownerId) ?? Promise.resolve();
		const run = previous.then(task, task);
		const tail = run.catch(() => undefined);
		this.locks.set(ownerId, tail);
		void tail.then(() => {
			if (this.locks.get(ownerId) === tail) this.locks.delete(ownerId);
		});
		return run;
	}

	/** Refuses (413) a file of `size` bytes that would take the owner past their quota (an early check: `store` reserves). */
	async assertFits(ownerId: string, size: number): Promise<void> {
		if (!this.quotaBytes) return;
		const pending = this.reservedBy(ownerId);
		const used = await this.usedBytes(ownerId);
		if (used + pending + size > this.quotaBytes) throw quotaExceeded(this.quotaBytes, used + pending);
	}

	/**
	 * Takes `size` bytes of the owner's quota until the returned release is called (413 when they do not fit).
	 * One check at a time per owner; the reservations are read before the stored assets, so a store finishing
	 * meanwhile (document written, then released) is counted once or twice, never missed.
	 */
	async reserve(ownerId: string, size: number): Promise<() => void> {
		if (!this.quotaBytes) return () => undefined;
		await this.exclusive(ownerId, async () => {
			const pending = this.reservedBy(ownerId);
			const used = await this.usedBytes(ownerId);
			if (used + pending + size > this.quotaBytes) throw quotaExceeded(this.quotaBytes, used + pending);
			this.reserved.set(ownerId, this.reservedBy(ownerId) + size);
		});
		let released = false;
		return () => {
			if (released) return;
			released = true;
			const left = this.reservedBy(ownerId) - size;
			if (left > 0) this.reserved.set(ownerId, left);
			else this.reserved.delete(ownerId);
		};
	}

	/**
	 * A body past the size limit, or past what is left of the owner's quota, is refused (413) with nothing
	 * of it left on disk. Without an owner (resumable chunks, assembled) only the size limit applies here.
	 */
	async receive(source: Readable, ownerId?: string): Promise<StagedFile> {
		if (!ownerId || !this.quotaBytes) return this.staging.receive(source, { maxBytes: this.maxBytes, headBytes: SNIFF_BYTES });
		const used = (await this.usedBytes(ownerId)) + this.reservedBy(ownerId);
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
		let release = () => undefined as void;
		try {
			if (staged.size === 0) throw invalidField("file", "The file is empty.", "empty");
			// Reserved until the document is written: uploads of one user received side by side cannot all fit.
			const chargeTo = request.fetchedImage ? request.chargedTo : request.ownerId;
			if (chargeTo) release = await this.reserve(chargeTo, staged.size);
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
			const inline = INLINE_IMAGE_TYPES.has(mimeType);
			const info = image ? await readImageInfo(staged.path) : null;
			if (avatar && !info) throw unsupportedMediaType("The avatar image could not be read.");
			if (request.fetchedImage && (!info || !inline)) throw unsupportedMediaType("Not an image that can be shown inline.");
			// Served inline, an image is one the server could decode (within its pixel limit): anything else could be a
			// decompression bomb for every member's browser, or is broken.
			if (inline && !info) throw unsupportedMediaType("The image could not be read (damaged, or larger than 80 megapixels).");
			if (info && this.storage.rendersThumbnails) {
				const target = this.staging.tempPath(".webp");
				thumbnail = target;
				if (!(await writeThumbnail(staged.path, target, avatar))) {
					await this.staging.discard(target);
					thumbnail = null;
					if (inline) throw unsupportedMediaType("The image could not be read (damaged, or larger than 80 megapixels).");
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
				hiddenAt: null,
				...(request.fetchedImage ? { chargedTo: request.chargedTo ?? null, previewOf: request.previewOf ?? null, previewUrl: request.previewUrl ?? null } : {})
			};
			try {
				return await this.assets.insert(doc);
			} catch (err) {
				await this.storage.remove(_id, saved.location).catch(e => this.logger.warn("Could not remove an unrecorded asset", _id, e));
				throw err;
			}
		} finally {
			release();
			await this.staging.discard(staged.path);
			if (thumbnail) await this.staging.discard(thumbnail);
		}
	}
}
