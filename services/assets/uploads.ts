import type { Readable } from "node:stream";
import type { AssetPurpose, CreatedUpload, UploadStatus } from "../../contract/assets.ts";
import type { UploadsConfig } from "../../lib/config.ts";
import { conflict, invalidField, notFound, payloadTooLarge } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import type { ChunkStore } from "../../lib/storage/chunks.ts";
import { tooLarge, type StagingArea } from "../../lib/storage/staging.ts";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { AssetDoc, UploadDoc } from "./documents.ts";
import { sanitizeFileName } from "./file-types.ts";
import type { Ingest } from "./ingest.ts";

/** Unfinished resumable uploads one user may have at a time (each holds disk space until it expires). */
export const MAX_OPEN_UPLOADS = 20;

export interface UploadRequest {
	name: string;
	size: number;
	mimeType: string;
	purpose: AssetPurpose;
}

/** Every chunk is `chunkSize` bytes but the last, which holds the rest. */
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

interface UploadsDeps {
	uploads: Collection<UploadDoc>;
	assets: Collection<AssetDoc>;
	chunks: ChunkStore;
	ingest: Ingest;
	staging: StagingArea;
	config: Pick<UploadsConfig, "maxBytes" | "chunkBytes" | "staleAfterSeconds">;
}

/**
 * Resumable uploads: chunks arrive in any order (a chunk sent again replaces the first copy), wait on
 * this node's disk, and `complete` assembles them, checks the size and the SHA-256 the client computed,
 * and ingests the file like any other. Someone else's upload does not exist for you (404).
 */
export class ResumableUploads {
	private readonly deps: UploadsDeps;
	/** One assembly per upload at a time: a `complete` sent again while the first runs waits for the same asset. */
	private readonly completing = new Map<string, Promise<AssetDoc>>();
	private sweeping: Promise<number> | null = null;
	private sweepTimer: NodeJS.Timeout | null = null;

	constructor(deps: UploadsDeps) {
		this.deps = deps;
	}

	private freshExpiry(): Date {
		return new Date(Date.now() + this.deps.config.staleAfterSeconds * 1000);
	}

	private async own(ownerId: string, uploadId: string): Promise<UploadDoc> {
		const upload = await this.deps.uploads.findById(uploadId);
		if (!upload || upload.ownerId !== ownerId) throw notFound("Upload");
		return upload;
	}

	async create(ownerId: string, request: UploadRequest): Promise<CreatedUpload> {
		const { uploads, config } = this.deps;
		if (request.size > config.maxBytes) throw tooLarge(config.maxBytes);
		await this.deps.ingest.assertFits(ownerId, request.size);
		const open = await uploads.count({ ownerId, assetId: null });
		if (open >= MAX_OPEN_UPLOADS) throw conflict(`At most ${MAX_OPEN_UPLOADS} unfinished uploads at a time; complete or abandon one first`, "TOO_MANY_UPLOADS");
		const chunkSize = config.chunkBytes;
		const doc: UploadDoc = {
			_id: newId(),
			ownerId,
			name: sanitizeFileName(request.name),
			size: request.size,
			mimeType: request.mimeType,
			purpose: request.purpose,
			chunkSize,
			totalChunks: Math.ceil(request.size / chunkSize),
			received: [],
			createdAt: new Date(),
			expiresAt: this.freshExpiry(),
			assetId: null
		};
		await uploads.insert(doc);
		return { uploadId: doc._id, chunkSize, totalChunks: doc.totalChunks, expiresAt: doc.expiresAt.toISOString() };
	}

	async putChunk(ownerId: string, uploadId: string, index: number, body: Readable | null): Promise<UploadStatus> {
		const upload = await this.own(ownerId, uploadId);
		if (upload.assetId) throw conflict("This upload is already complete", "UPLOAD_COMPLETE");
		if (index >= upload.totalChunks) throw invalidField("index", `The 'index' field must be less than ${upload.totalChunks}.`, "numberMax");
		if (!body) throw invalidField("chunk", "The chunk's bytes are missing from the request body.", "required");
		const expected = chunkLength(upload, index);
		const size = await this.deps.chunks.write(uploadId, index, body, expected, n =>
			payloadTooLarge(`Chunk ${index} must be ${n} bytes; the request body is larger`)
		);
		if (size !== expected) throw invalidField("chunk", `Chunk ${index} must be ${expected} bytes (got ${size}).`);
		const updated = await this.deps.uploads.updateById(uploadId, { $addToSet: { received: index }, $set: { expiresAt: this.freshExpiry() } });
		if (!updated) throw notFound("Upload");
		return uploadStatus(updated);
	}

	async status(ownerId: string, uploadId: string): Promise<UploadStatus> {
		return uploadStatus(await this.own(ownerId, uploadId));
	}

	/** `checksum`: the SHA-256 of the whole file, lower-case hex. */
	async complete(ownerId: string, uploadId: string, checksum: string): Promise<AssetDoc> {
		const upload = await this.own(ownerId, uploadId);
		// A retried `complete` (the answer was lost) gets the same asset rather than an error.
		if (upload.assetId) {
			const done = await this.deps.assets.findById(upload.assetId);
			if (!done || done.hiddenAt) throw notFound("Upload");
			return done;
		}
		let running = this.completing.get(uploadId);
		if (!running) {
			running = this.assemble(upload, checksum).finally(() => this.completing.delete(uploadId));
			this.completing.set(uploadId, running);
		}
		return running;
	}

	private async assemble(upload: UploadDoc, checksum: string): Promise<AssetDoc> {
		const { chunks, ingest, uploads } = this.deps;
		const counted = new Set(upload.received);
		// A chunk the document counts but this disk lacks (a lost volume) must be sent again, not fail the assembly.
		const onDisk = new Set(await chunks.received(upload._id));
		const missing = Array.from({ length: upload.totalChunks }, (_, i) => i).filter(i => !counted.has(i) || !onDisk.has(i));
		if (missing.length) throw conflict(`Chunks ${missing.slice(0, 20).join(", ")} have not been received`, "UPLOAD_INCOMPLETE", { missingChunks: missing });
		const staged = await ingest.receive(chunks.concatenated(upload._id, upload.totalChunks));
		if (staged.size !== upload.size || staged.sha256 !== checksum) {
			await ingest.discard(staged);
			// The chunks stay: the client may send the damaged ones again and complete once more.
			if (staged.size !== upload.size) throw invalidField("size", `The chunks add up to ${staged.size} bytes, not the declared ${upload.size}.`);
			throw invalidField("checksum", "The 'checksum' field does not match the SHA-256 of the uploaded chunks.");
		}
		let doc: AssetDoc;
		try {
			doc = await ingest.store(staged, { ownerId: upload.ownerId, name: upload.name, claimedType: upload.mimeType, purpose: upload.purpose });
		} catch (err) {
			// The file itself was refused (type, avatar…): its chunks are of no further use.
			if ((err as { code?: number }).code === 415) await this.discard(upload._id);
			throw err;
		}
		await uploads.updateById(upload._id, { $set: { assetId: doc._id, received: [], expiresAt: this.freshExpiry() } });
		await chunks.remove(upload._id);
		return doc;
	}

	private async discard(uploadId: string): Promise<void> {
		await this.deps.chunks.remove(uploadId);
		await this.deps.uploads.removeById(uploadId);
	}

	/**
	 * Removes uploads past their expiry with their chunks, chunk folders no upload owns any more,
	 * and received files a crash left behind in the staging folder. Returns how many uploads expired.
	 */
	sweep(): Promise<number> {
		if (this.sweeping) return this.sweeping;
		const run = async () => {
			const { uploads, chunks, staging, config } = this.deps;
			const now = Date.now();
			const stale = await uploads.find({ expiresAt: { $lt: new Date(now) } });
			for (const upload of stale) await this.discard(upload._id);
			const orphanAge = config.staleAfterSeconds * 1000;
			for (const uploadId of await chunks.idleUploadIds(orphanAge, now)) {
				if (!(await uploads.findById(uploadId))) await chunks.remove(uploadId);
			}
			// A file being received is at most a request old; an hour is far beyond any request timeout.
			await staging.removeOlderThan(Math.max(orphanAge, 3600_000), now);
			return stale.length;
		};
		this.sweeping = run().finally(() => {
			this.sweeping = null;
		});
		return this.sweeping;
	}

	/** Sweeps on a timer: twice per stale period, at least every ten minutes, at most every second. */
	sweepEvery(onError: (err: unknown) => void): void {
		const every = Math.min(Math.max((this.deps.config.staleAfterSeconds * 1000) / 2, 1000), 10 * 60_000);
		this.sweepTimer = setInterval(() => this.sweep().catch(onError), every);
		this.sweepTimer.unref();
	}

	/** Stops the timer and lets a sweep in progress finish (the stores close next). */
	async stop(): Promise<void> {
		if (this.sweepTimer) clearInterval(this.sweepTimer);
		this.sweepTimer = null;
		await this.sweeping?.catch(() => undefined);
	}
}
