import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import { DbCollections, type Collection, type DbMethods } from "../mixins/db.mixin.ts";
import { verifyAssetUrl, type AssetVariant } from "../lib/asset-urls.ts";
import {
	ASSET_PURPOSES,
	chunkLength,
	describeAsset,
	toAsset,
	uploadStatus,
	type Asset,
	type AssetDescription,
	type AssetDoc,
	type AssetPurpose,
	type UploadDoc,
	type UploadStatus
} from "../lib/assets.ts";
import { chatConfig, type UploadsConfig } from "../lib/config.ts";
import { conflict, forbidden, invalidField, notFound, payloadTooLarge, unsupportedMediaType } from "../lib/errors.ts";
import { contentDisposition, INLINE_IMAGE_TYPES, resolveFileType, sanitizeFileName } from "../lib/file-types.ts";
import { newId } from "../lib/ids.ts";
import { idList, idParam, params } from "../lib/params.ts";
import { requireUser, type SessionMeta } from "../lib/session.ts";
import { readImageInfo, THUMBNAIL_TYPE, writeThumbnail } from "../lib/storage/images.ts";
import { createAssetStorage, type AssetStorage } from "../lib/storage/index.ts";
import { parseRange } from "../lib/storage/range.ts";
import { stageStream, tempPath, tooLarge, type StagedFile } from "../lib/storage/staging.ts";

/** Request headers the download route copies into meta (actions never see the HTTP request). */
export interface DownloadHeaders {
	range?: string;
	ifNoneMatch?: string;
	ifRange?: string;
}

interface HttpMeta extends SessionMeta {
	$statusCode?: number;
	$location?: string;
	$responseHeaders?: Record<string, string | number>;
	downloadHeaders?: DownloadHeaders;
}

type Ctx<P = {}> = Context<P, HttpMeta>;

/** moleculer-web hands file bodies over as ctx.stream (a Readable: the request or busboy's file). */
const bodyOf = (ctx: Ctx<unknown>) => (ctx.stream as Readable | null) ?? null;

interface IngestRequest {
	ownerId: string;
	name: string;
	claimedType: string | undefined;
	purpose: AssetPurpose;
}

interface AssetsThis extends DbMethods {
	db: { assets: Collection<AssetDoc>; uploads: Collection<UploadDoc> };
	config: UploadsConfig;
	secret: string;
	storage: AssetStorage;
	tmpDir: string;
	chunksDir: string;
	sweepTimer: NodeJS.Timeout | null;
	sweeping: Promise<number> | null;
	completing: Map<string, Promise<AssetDoc>>;
	ingest(staged: StagedFile, request: IngestRequest): Promise<AssetDoc>;
	created201(ctx: Ctx, doc: AssetDoc): Asset;
	ownUpload(uploadId: string, userId: string): Promise<UploadDoc>;
	assemble(upload: UploadDoc, checksum: string): Promise<AssetDoc>;
	discardUpload(uploadId: string): Promise<void>;
	chunkDir(uploadId: string): string;
	sweepStaleUploads(): Promise<number>;
}

/** Unfinished resumable uploads one user may have at a time (each holds disk space until it expires). */
const MAX_OPEN_UPLOADS = 20;
const DAY = 86400;

const purposeParam = { type: "enum", values: ASSET_PURPOSES, optional: true, default: "attachment" } as const;
const uploadIdParam = idParam;
const ALLOWED = "Only images, PDF, text, office documents, archives, audio and video can be shared.";

const AssetsService: ServiceSchema<{}, {}, AssetsThis> = {
	name: "assets",
	mixins: [
		DbCollections({
			assets: { indexes: [{ fields: { ownerId: 1 } }] },
			uploads: { indexes: [{ fields: { expiresAt: 1 } }, { fields: { ownerId: 1 } }] }
		})
	],

	actions: {
		/** multipart/form-data with one file in the field `file`, streamed to disk as it arrives. */
		upload: {
			params: params({
				$fieldname: { type: "string", optional: true },
				$filename: { type: "string", max: 4096, optional: true },
				$mimetype: { type: "string", max: 255, optional: true },
				purpose: purposeParam
			}),
			async handler(ctx: Ctx<{ $fieldname?: string; $filename?: string; $mimetype?: string; purpose: AssetPurpose }>): Promise<Asset> {
				const me = requireUser(ctx);
				const body = bodyOf(ctx);
				if (!body || ctx.params.$fieldname == null) throw invalidField("file", "The 'file' field (a multipart file) is required.", "required");
				if (ctx.params.$fieldname !== "file") throw invalidField("file", "Send the file in the multipart field 'file'.");
				const staged = await stageStream(body, this.tmpDir, this.config.maxBytes);
				const doc = await this.ingest(staged, { ownerId: me.id, name: ctx.params.$filename ?? "", claimedType: ctx.params.$mimetype, purpose: ctx.params.purpose });
				return this.created201(ctx, doc);
			}
		},

		/** Starts a resumable upload: the client then PUTs `totalChunks` chunks of `chunkSize` bytes (the last one shorter). */
		createUpload: {
			params: params({
				name: { type: "string", min: 1, max: 4096 },
				size: { type: "number", integer: true, min: 1, convert: true },
				mimeType: { type: "string", max: 255, optional: true, default: "" },
				purpose: purposeParam
			}),
			async handler(ctx: Ctx<{ name: string; size: number; mimeType: string; purpose: AssetPurpose }>) {
				const me = requireUser(ctx);
				const { size } = ctx.params;
				if (size > this.config.maxBytes) throw tooLarge(this.config.maxBytes);
				const open = await this.db.uploads.count({ ownerId: me.id, assetId: null });
				if (open >= MAX_OPEN_UPLOADS) throw conflict(`At most ${MAX_OPEN_UPLOADS} unfinished uploads at a time; complete or abandon one first`, "TOO_MANY_UPLOADS");
				const chunkSize = this.config.chunkBytes;
				const now = new Date();
				const doc: UploadDoc = {
					_id: newId(),
					ownerId: me.id,
					name: sanitizeFileName(ctx.params.name),
					size,
					mimeType: ctx.params.mimeType,
					purpose: ctx.params.purpose,
					chunkSize,
					totalChunks: Math.ceil(size / chunkSize),
					received: [],
					createdAt: now,
					expiresAt: new Date(now.getTime() + this.config.staleAfterSeconds * 1000),
					assetId: null
				};
				await this.db.uploads.insert(doc);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/assets/uploads/${doc._id}`;
				return { uploadId: doc._id, chunkSize, totalChunks: doc.totalChunks, expiresAt: doc.expiresAt.toISOString() };
			}
		},

		/**
		 * One chunk as the raw request body. Chunks of one upload go to one node (sharded by uploadId),
		 * where they wait on its disk; a chunk sent again replaces the first copy.
		 */
		putChunk: {
			strategy: "Shard",
			strategyOptions: { shardKey: "uploadId" },
			params: params({ uploadId: uploadIdParam, index: { type: "number", integer: true, min: 0, convert: true } }),
			async handler(ctx: Ctx<{ uploadId: string; index: number }>): Promise<UploadStatus> {
				const me = requireUser(ctx);
				const { uploadId, index } = ctx.params;
				const upload = await this.ownUpload(uploadId, me.id);
				if (upload.assetId) throw conflict("This upload is already complete", "UPLOAD_COMPLETE");
				if (index >= upload.totalChunks) throw invalidField("index", `The 'index' field must be less than ${upload.totalChunks}.`, "numberMax");
				const body = bodyOf(ctx);
				if (!body) throw invalidField("chunk", "The chunk's bytes are missing from the request body.", "required");
				const expected = chunkLength(upload, index);
				const dir = this.chunkDir(uploadId);
				await mkdir(dir, { recursive: true });
				const staged = await stageStream(body, dir, expected, n => payloadTooLarge(`Chunk ${index} must be ${n} bytes; the request body is larger`));
				if (staged.size !== expected) {
					await rm(staged.path, { force: true });
					throw invalidField("chunk", `Chunk ${index} must be ${expected} bytes (got ${staged.size}).`);
				}
				await rename(staged.path, path.join(dir, String(index)));
				const expiresAt = new Date(Date.now() + this.config.staleAfterSeconds * 1000);
				const updated = await this.db.uploads.updateById(uploadId, { $addToSet: { received: index }, $set: { expiresAt } });
				if (!updated) throw notFound("Upload");
				return uploadStatus(updated);
			}
		},

		uploadStatus: {
			strategy: "Shard",
			strategyOptions: { shardKey: "uploadId" },
			params: params({ uploadId: uploadIdParam }),
			async handler(ctx: Ctx<{ uploadId: string }>): Promise<UploadStatus> {
				const me = requireUser(ctx);
				return uploadStatus(await this.ownUpload(ctx.params.uploadId, me.id));
			}
		},

		/** Assembles the chunks, checks the total size and the SHA-256 the client computed, then stores the asset. */
		completeUpload: {
			strategy: "Shard",
			strategyOptions: { shardKey: "uploadId" },
			params: params({
				uploadId: uploadIdParam,
				checksum: { type: "string", pattern: /^[a-fA-F0-9]{64}$/, messages: { stringPattern: "The 'checksum' field must be the SHA-256 of the file in hex (64 characters)." } }
			}),
			async handler(ctx: Ctx<{ uploadId: string; checksum: string }>): Promise<Asset> {
				const me = requireUser(ctx);
				const { uploadId } = ctx.params;
				const upload = await this.ownUpload(uploadId, me.id);
				// A retried `complete` (the answer was lost) gets the same asset rather than an error.
				if (upload.assetId) {
					const done = await this.db.assets.findById(upload.assetId);
					if (!done || done.hiddenAt) throw notFound("Upload");
					return this.created201(ctx, done);
				}
				let running = this.completing.get(uploadId);
				if (!running) {
					running = this.assemble(upload, ctx.params.checksum.toLowerCase()).finally(() => this.completing.delete(uploadId));
					this.completing.set(uploadId, running);
				}
				return this.created201(ctx, await running);
			}
		},

		/** The owner's view of an asset, with fresh signed URLs. */
		get: {
			params: params({ id: idParam }),
			async handler(ctx: Ctx<{ id: string }>): Promise<Asset> {
				const me = requireUser(ctx);
				const doc = await this.db.assets.findById(ctx.params.id);
				if (!doc || doc.ownerId !== me.id || doc.hiddenAt) throw notFound("Asset");
				return toAsset(doc, this.secret);
			}
		},

		/**
		 * Signed-URL download: the signature is the credential (checked before anything is looked up).
		 * Streams local files with Range support; redirects to Cloudinary's signed delivery URL.
		 */
		download: {
			params: params({
				id: idParam,
				variant: { type: "enum", values: ["original", "thumb"] },
				exp: { type: "string", max: 20, optional: true },
				sig: { type: "string", max: 128, optional: true }
			}),
			async handler(ctx: Ctx<{ id: string; variant: AssetVariant; exp?: string; sig?: string }>): Promise<Readable | null> {
				const { id, variant, sig } = ctx.params;
				const exp = /^\d{1,12}$/.test(ctx.params.exp ?? "") ? Number(ctx.params.exp) : -1;
				if (!sig || !verifyAssetUrl(this.secret, id, variant, exp, sig)) throw forbidden("This link is invalid or has expired", "INVALID_SIGNATURE");
				const doc = await this.db.assets.findById(id);
				if (!doc || doc.hiddenAt) throw notFound("Asset");
				const delivery = await this.storage.deliver(id, doc.location, variant, doc.purpose === "avatar");
				if (!delivery) throw notFound("Asset");

				const maxAge = exp === 0 ? 365 * DAY : Math.max(0, Math.min(DAY, Math.floor(exp - Date.now() / 1000)));
				if (delivery.kind === "redirect") {
					ctx.meta.$statusCode = 302;
					ctx.meta.$location = delivery.url;
					ctx.meta.$responseHeaders = { "Cache-Control": `private, max-age=${Math.min(maxAge, 300)}` };
					return null;
				}

				const type = variant === "thumb" ? THUMBNAIL_TYPE : doc.mimeType;
				const name = variant === "thumb" ? `${doc.name.replace(/\.[^.]*$/, "")}.webp` : doc.name;
				const etag = `"${id}-${variant}-${delivery.size}"`;
				const headers: Record<string, string | number> = {
					"Content-Type": type.startsWith("text/") ? `${type}; charset=utf-8` : type,
					"Content-Disposition": contentDisposition(INLINE_IMAGE_TYPES.has(type) ? "inline" : "attachment", name),
					"X-Content-Type-Options": "nosniff",
					// Even a file opened directly can run nothing and load nothing.
					"Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
					// Assets never change, and the URL is a capability: private caches only.
					"Cache-Control": `private, max-age=${maxAge}, immutable`,
					ETag: etag,
					"Accept-Ranges": "bytes"
				};
				ctx.meta.$responseHeaders = headers;
				const wanted = ctx.meta.downloadHeaders ?? {};
				if (wanted.ifNoneMatch && (wanted.ifNoneMatch.trim() === "*" || wanted.ifNoneMatch.split(",").some(t => t.trim().replace(/^W\//, "") === etag))) {
					ctx.meta.$statusCode = 304;
					return null;
				}
				// If-Range with another validator: the client's partial copy is stale, send everything.
				const range = wanted.ifRange && wanted.ifRange.trim() !== etag ? { kind: "all" as const } : parseRange(wanted.range, delivery.size);
				if (range.kind === "unsatisfiable") {
					ctx.meta.$statusCode = 416;
					headers["Content-Range"] = `bytes */${delivery.size}`;
					return null;
				}
				if (range.kind === "range") {
					ctx.meta.$statusCode = 206;
					headers["Content-Range"] = `bytes ${range.start}-${range.end}/${delivery.size}`;
					headers["Content-Length"] = range.end - range.start + 1;
					return delivery.open({ start: range.start, end: range.end });
				}
				headers["Content-Length"] = delivery.size;
				return delivery.open();
			}
		},

		/** For messages (attaching) and users (avatars): hidden and unknown assets are null. */
		describe: {
			visibility: "public",
			params: params({ id: idParam }),
			async handler(ctx: Context<{ id: string }>): Promise<AssetDescription | null> {
				const doc = await this.db.assets.findById(ctx.params.id);
				return doc && !doc.hiddenAt ? describeAsset(doc) : null;
			}
		},

		describeMany: {
			visibility: "public",
			params: params({ ids: idList(100) }),
			async handler(ctx: Context<{ ids: string[] }>): Promise<AssetDescription[]> {
				const docs = await this.db.assets.findByIds(ctx.params.ids);
				return docs.filter(d => !d.hiddenAt).map(describeAsset);
			}
		},

		/** A deleted message's attachments: kept (for moderation) but never served again. */
		hide: {
			visibility: "public",
			params: params({ ids: idList(1000) }),
			async handler(ctx: Context<{ ids: string[] }>): Promise<{ hidden: number }> {
				if (ctx.params.ids.length === 0) return { hidden: 0 };
				const hidden = await this.db.assets.updateMany({ _id: { $in: ctx.params.ids }, hiddenAt: null }, { $set: { hiddenAt: new Date() } });
				return { hidden };
			}
		},

		/** Deletes abandoned resumable uploads now (a timer does it every so often). */
		sweepUploads: {
			visibility: "public",
			async handler(): Promise<{ removed: number }> {
				return { removed: await this.sweepStaleUploads() };
			}
		}
	},

	methods: {
		/**
		 * Turns a received file into an asset: type from its bytes, thumbnail and dimensions for images,
		 * bytes to the storage driver, metadata to the store. Whatever happens, the staged file is gone after.
		 */
		async ingest(staged: StagedFile, request: IngestRequest): Promise<AssetDoc> {
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
					const target = tempPath(this.tmpDir, ".webp");
					thumbnail = target;
					if (!(await writeThumbnail(staged.path, target, avatar))) {
						await rm(target, { force: true });
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
					return await this.db.assets.insert(doc);
				} catch (err) {
					await this.storage.remove(_id, saved.location).catch(e => this.logger.warn("Could not remove an unrecorded asset", _id, e));
					throw err;
				}
			} finally {
				await rm(staged.path, { force: true });
				if (thumbnail) await rm(thumbnail, { force: true });
			}
		},

		created201(ctx: Ctx, doc: AssetDoc): Asset {
			ctx.meta.$statusCode = 201;
			ctx.meta.$location = `/api/assets/${doc._id}`;
			return toAsset(doc, this.secret);
		},

		async ownUpload(uploadId: string, userId: string): Promise<UploadDoc> {
			const upload = await this.db.uploads.findById(uploadId);
			if (!upload || upload.ownerId !== userId) throw notFound("Upload");
			return upload;
		},

		async assemble(upload: UploadDoc, checksum: string): Promise<AssetDoc> {
			const missing = uploadStatus(upload).missingChunks;
			if (missing.length) throw conflict(`Chunks ${missing.slice(0, 20).join(", ")} have not been received`, "UPLOAD_INCOMPLETE", { missingChunks: missing });
			const dir = this.chunkDir(upload._id);
			async function* chunks() {
				for (let i = 0; i < upload.totalChunks; i++) yield* createReadStream(path.join(dir, String(i)));
			}
			const staged = await stageStream(Readable.from(chunks()), this.tmpDir, this.config.maxBytes);
			if (staged.size !== upload.size || staged.sha256 !== checksum) {
				await rm(staged.path, { force: true });
				// The chunks stay: the client may send the damaged ones again and complete once more.
				if (staged.size !== upload.size) throw invalidField("size", `The chunks add up to ${staged.size} bytes, not the declared ${upload.size}.`);
				throw invalidField("checksum", "The 'checksum' field does not match the SHA-256 of the uploaded chunks.");
			}
			let doc: AssetDoc;
			try {
				doc = await this.ingest(staged, { ownerId: upload.ownerId, name: upload.name, claimedType: upload.mimeType, purpose: upload.purpose });
			} catch (err) {
				// The file itself was refused (type, avatar…): its chunks are of no further use.
				if ((err as { code?: number }).code === 415) await this.discardUpload(upload._id);
				throw err;
			}
			const expiresAt = new Date(Date.now() + this.config.staleAfterSeconds * 1000);
			await this.db.uploads.updateById(upload._id, { $set: { assetId: doc._id, received: [], expiresAt } });
			await rm(dir, { recursive: true, force: true });
			return doc;
		},

		async discardUpload(uploadId: string): Promise<void> {
			await rm(this.chunkDir(uploadId), { recursive: true, force: true });
			await this.db.uploads.removeById(uploadId);
		},

		chunkDir(uploadId: string): string {
			return path.join(this.chunksDir, uploadId);
		},

		/**
		 * Removes uploads past their expiry with their chunks, chunk folders no upload owns any more,
		 * and received files a crash left behind in the staging folder.
		 */
		sweepStaleUploads(): Promise<number> {
			if (this.sweeping) return this.sweeping;
			const run = async () => {
				const now = Date.now();
				const stale = await this.db.uploads.find({ expiresAt: { $lt: new Date(now) } });
				for (const upload of stale) await this.discardUpload(upload._id);
				const orphanAge = this.config.staleAfterSeconds * 1000;
				for (const name of await readdir(this.chunksDir).catch(() => [] as string[])) {
					const dir = path.join(this.chunksDir, name);
					const info = await stat(dir).catch(() => null);
					if (!info || now - info.mtimeMs < orphanAge) continue;
					if (!(await this.db.uploads.findById(name))) await rm(dir, { recursive: true, force: true });
				}
				// A file being received is at most a request old; an hour is far beyond any request timeout.
				const tmpAge = Math.max(orphanAge, 3600_000);
				for (const name of await readdir(this.tmpDir).catch(() => [] as string[])) {
					const file = path.join(this.tmpDir, name);
					const info = await stat(file).catch(() => null);
					if (info && now - info.mtimeMs > tmpAge) await rm(file, { force: true });
				}
				return stale.length;
			};
			this.sweeping = run().finally(() => {
				this.sweeping = null;
			});
			return this.sweeping;
		}
	},

	created() {
		this.completing = new Map();
		this.sweepTimer = null;
		this.sweeping = null;
	},

	async started() {
		const config = chatConfig(this.broker);
		this.config = config.uploads;
		this.secret = config.jwt.secret;
		this.storage = createAssetStorage(config.uploads);
		this.tmpDir = path.join(config.uploads.dir, "tmp");
		this.chunksDir = path.join(config.uploads.dir, "chunks");
		await mkdir(this.tmpDir, { recursive: true });
		await mkdir(this.chunksDir, { recursive: true });
		const every = Math.min(Math.max((config.uploads.staleAfterSeconds * 1000) / 2, 1000), 10 * 60_000);
		this.sweepTimer = setInterval(() => {
			this.sweepStaleUploads().catch(err => this.logger.warn("Sweeping abandoned uploads failed", err));
		}, every);
		this.sweepTimer.unref();
	},

	async stopped() {
		if (this.sweepTimer) clearInterval(this.sweepTimer);
		this.sweepTimer = null;
		await this.sweeping?.catch(() => undefined);
	}
};

export default AssetsService;
