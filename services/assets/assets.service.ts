import path from "node:path";
import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import type { Asset, AssetPurpose, CreatedUpload, UploadLimits, UploadStatus } from "../../contract/assets.ts";
import { verifyAssetUrl, type AssetVariant } from "../../lib/asset-urls.ts";
import { chatConfig } from "../../lib/config.ts";
import { forbidden, invalidField, notFound } from "../../lib/errors.ts";
import { idList, idParam, params } from "../../lib/params.ts";
import type { ResponseMeta, UserContext } from "../../lib/session.ts";
import { ChunkStore } from "../../lib/storage/chunks.ts";
import { createAssetStorage, type AssetStorage } from "../../lib/storage/index.ts";
import { StagingArea } from "../../lib/storage/staging.ts";
import { DbCollections, type Collection } from "../../mixins/db.mixin.ts";
import { ASSET_PURPOSES, describeAsset, toAsset, type AssetDescription, type AssetDoc, type UploadDoc } from "./documents.ts";
import { cacheMaxAge, downloadResponse, linkExpiry, type DownloadHeaders } from "./download.ts";
import { claimAssets, type ClaimRequest } from "./claims.ts";
import { Ingest } from "./ingest.ts";
import { ResumableUploads } from "./uploads.ts";

interface AssetsState {
	db: { assets: Collection<AssetDoc>; uploads: Collection<UploadDoc> };
	secret: string;
	storage: AssetStorage;
	ingest: Ingest;
	uploads: ResumableUploads;
}

type DownloadContext = Context<
	{ id: string; variant: AssetVariant; exp?: string; sig?: string },
	ResponseMeta & { $responseHeaders?: Record<string, string | number>; downloadHeaders?: DownloadHeaders }
>;

/** moleculer-web hands file bodies over as ctx.stream (a Readable: the request or busboy's file). */
const bodyOf = (ctx: Context<unknown, object>) => (ctx.stream as Readable | null) ?? null;

function created(ctx: Context<unknown, ResponseMeta>, doc: AssetDoc, secret: string): Asset {
	ctx.meta.$statusCode = 201;
	ctx.meta.$location = `/api/assets/${doc._id}`;
	return toAsset(doc, secret);
}

/** The owner of images the server fetched itself: no user (not an id), so nobody's quota or asset list. */
const FETCHED_IMAGES_OWNER = "server:link-previews";

const purposeParam = { type: "enum", values: ASSET_PURPOSES, optional: true, default: "attachment" } as const;
// Chunks of one upload wait on one node's disk: every call about an upload goes to the node its id shards to.
const byUpload = { strategy: "Shard", strategyOptions: { shardKey: "uploadId" } } as const;

const AssetsService: ServiceSchema<{}, {}, AssetsState> = {
	name: "assets",
	mixins: [
		DbCollections({
			assets: { indexes: [{ fields: { ownerId: 1 } }, { fields: { chargedTo: 1 } }, { fields: { previewOf: 1 } }] },
			uploads: { indexes: [{ fields: { expiresAt: 1 } }, { fields: { ownerId: 1 } }] }
		})
	],

	actions: {
		/** Public: clients check a file against these before uploading it. */
		limits: {
			readOnly: true,
			handler(): UploadLimits {
				const { maxBytes, chunkBytes } = chatConfig(this.broker).uploads;
				return { maxBytes, chunkBytes };
			}
		},

		/** multipart/form-data with one file in the field `file`, streamed to disk as it arrives. */
		upload: {
			auth: "required",
			params: params({
				$fieldname: { type: "string", optional: true },
				$filename: { type: "string", max: 4096, optional: true },
				$mimetype: { type: "string", max: 255, optional: true },
				purpose: purposeParam
			}),
			async handler(ctx: UserContext<{ $fieldname?: string; $filename?: string; $mimetype?: string; purpose: AssetPurpose }>): Promise<Asset> {
				const body = bodyOf(ctx);
				if (!body || ctx.params.$fieldname == null) throw invalidField("file", "The 'file' field (a multipart file) is required.", "required");
				if (ctx.params.$fieldname !== "file") throw invalidField("file", "Send the file in the multipart field 'file'.");
				const staged = await this.ingest.receive(body, ctx.meta.user.id);
				const request = { ownerId: ctx.meta.user.id, name: ctx.params.$filename ?? "", claimedType: ctx.params.$mimetype, purpose: ctx.params.purpose };
				return created(ctx, await this.ingest.store(staged, request), this.secret);
			}
		},

		/** Starts a resumable upload: the client then PUTs `totalChunks` chunks of `chunkSize` bytes (the last one shorter). */
		createUpload: {
			auth: "required",
			params: params({
				name: { type: "string", min: 1, max: 4096 },
				size: { type: "number", integer: true, min: 1 },
				mimeType: { type: "string", max: 255, optional: true, default: "" },
				purpose: purposeParam
			}),
			async handler(ctx: UserContext<{ name: string; size: number; mimeType: string; purpose: AssetPurpose }>): Promise<CreatedUpload> {
				const upload = await this.uploads.create(ctx.meta.user.id, ctx.params);
				ctx.meta.$statusCode = 201;
				ctx.meta.$location = `/api/assets/uploads/${upload.uploadId}`;
				return upload;
			}
		},

		/** One chunk as the raw request body; a chunk sent again replaces the first copy. */
		putChunk: {
			...byUpload,
			auth: "required",
			params: params({ uploadId: idParam, index: { type: "number", integer: true, min: 0 } }),
			handler(ctx: UserContext<{ uploadId: string; index: number }>): Promise<UploadStatus> {
				return this.uploads.putChunk(ctx.meta.user.id, ctx.params.uploadId, ctx.params.index, bodyOf(ctx));
			}
		},

		uploadStatus: {
			...byUpload,
			auth: "required",
			readOnly: true,
			params: params({ uploadId: idParam }),
			handler(ctx: UserContext<{ uploadId: string }>): Promise<UploadStatus> {
				return this.uploads.status(ctx.meta.user.id, ctx.params.uploadId);
			}
		},

		/** Assembles the chunks, checks the total size and the SHA-256 the client computed, then stores the asset. */
		completeUpload: {
			...byUpload,
			auth: "required",
			params: params({
				uploadId: idParam,
				checksum: {
					type: "string",
					pattern: /^[a-fA-F0-9]{64}$/,
					messages: { stringPattern: "The 'checksum' field must be the SHA-256 of the file in hex (64 characters)." }
				}
			}),
			async handler(ctx: UserContext<{ uploadId: string; checksum: string }>): Promise<Asset> {
				const doc = await this.uploads.complete(ctx.meta.user.id, ctx.params.uploadId, ctx.params.checksum.toLowerCase());
				return created(ctx, doc, this.secret);
			}
		},

		/** The owner's view of an asset, with fresh signed URLs. */
		get: {
			auth: "required",
			readOnly: true,
			params: params({ id: idParam }),
			async handler(ctx: UserContext<{ id: string }>): Promise<Asset> {
				const doc = await this.db.assets.findById(ctx.params.id);
				if (!doc || doc.ownerId !== ctx.meta.user.id || doc.hiddenAt) throw notFound("Asset");
				return toAsset(doc, this.secret);
			}
		},

		/**
		 * Signed-URL download: the signature is the credential (checked before anything is looked up), so no session.
		 * Streams local files with Range support; redirects to Cloudinary's signed delivery URL.
		 */
		download: {
			readOnly: true,
			params: params({
				id: idParam,
				variant: { type: "enum", values: ["original", "thumb"] },
				exp: { type: "string", max: 20, optional: true },
				sig: { type: "string", max: 128, optional: true }
			}),
			async handler(ctx: DownloadContext): Promise<Readable | null> {
				const { id, variant, sig } = ctx.params;
				const exp = linkExpiry(ctx.params.exp);
				if (!sig || !verifyAssetUrl(this.secret, id, variant, exp, sig)) throw forbidden("This link is invalid or has expired", "INVALID_SIGNATURE");
				const doc = await this.db.assets.findById(id);
				if (!doc || doc.hiddenAt) throw notFound("Asset");
				const delivery = await this.storage.deliver(id, doc.location, variant, doc.purpose === "avatar", exp);
				if (!delivery) throw notFound("Asset");
				const answer = downloadResponse({ doc, variant, delivery, headers: ctx.meta.downloadHeaders ?? {}, maxAge: cacheMaxAge(exp) });
				ctx.meta.$statusCode = answer.status;
				if (answer.location) ctx.meta.$location = answer.location;
				ctx.meta.$responseHeaders = answer.headers;
				return answer.body ? answer.body() : null;
			}
		},

		/**
		 * For link-previews: a page's image, fetched by the server (through its guard) and handed over as
		 * ctx.stream; kept only if its bytes are an image that can be shown inline (else 415), and if it fits
		 * in the quota of `chargedTo`, the author of the message `messageId` it previews (else 413).
		 */
		storeFetchedImage: {
			visibility: "public",
			params: params({
				name: { type: "string", max: 255 },
				mimeType: { type: "string", max: 255, optional: true },
				messageId: { ...idParam, optional: true },
				chargedTo: { ...idParam, optional: true },
				url: { type: "string", max: 2048, optional: true }
			}),
			async handler(ctx: Context<{ name: string; mimeType?: string; messageId?: string; chargedTo?: string; url?: string }>): Promise<AssetDescription> {
				const body = bodyOf(ctx);
				if (!body) throw invalidField("file", "The image is missing.", "required");
				const staged = await this.ingest.receive(body, ctx.params.chargedTo);
				const request = {
					ownerId: FETCHED_IMAGES_OWNER,
					name: ctx.params.name,
					claimedType: ctx.params.mimeType,
					purpose: "attachment" as const,
					fetchedImage: true,
					chargedTo: ctx.params.chargedTo ?? null,
					previewOf: ctx.params.messageId ?? null,
					previewUrl: ctx.params.url ?? null
				};
				return describeAsset(await this.ingest.store(staged, request));
			}
		},

		/**
		 * For link-previews: removes (bytes and record) the preview images of a message it no longer shows.
		 * `keep`: the image just attached; every image of the message attached before it, or fetched before it, goes.
		 * `discard`: an image that was not attached (the message moved on meanwhile).
		 * Neither: the message shows no preview now; `deleted` removes all its images, else those attached
		 * once and those fetched for another link than `link` (the message's first link now).
		 */
		releasePreviewImages: {
			visibility: "public",
			params: params({
				messageId: idParam,
				keep: { ...idParam, optional: true },
				discard: { ...idParam, optional: true },
				deleted: { type: "boolean", optional: true },
				link: { type: "string", max: 2048, optional: true, nullable: true }
			}),
			async handler(
				ctx: Context<{ messageId: string; keep?: string; discard?: string; deleted?: boolean; link?: string | null }>
			): Promise<{ removed: number }> {
				const { messageId, keep, discard, deleted, link } = ctx.params;
				const images = await this.db.assets.find({ previewOf: messageId });
				let gone: AssetDoc[];
				if (discard) gone = images.filter(doc => doc._id === discard && !doc.previewShown);
				else if (keep) {
					const kept = images.find(doc => doc._id === keep);
					if (!kept) return { removed: 0 };
					await this.db.assets.updateById(keep, { $set: { previewShown: true } });
					const since = new Date(kept.createdAt).getTime();
					gone = images.filter(doc => doc._id !== keep && (doc.previewShown || new Date(doc.createdAt).getTime() < since));
				} else gone = images.filter(doc => deleted || doc.previewShown || doc.previewUrl !== (link ?? null));
				for (const doc of gone) {
					await this.db.assets.removeById(doc._id);
					await this.storage.remove(doc._id, doc.location).catch(err => this.logger.warn("Could not remove a preview image's bytes", doc._id, err));
				}
				return { removed: gone.length };
			}
		},

		/** A message's attachments or a picture, taken for that use alone (claims.ts): their descriptions. */
		claim: {
			visibility: "public",
			params: params({
				ids: idList(10, 1),
				ownerId: idParam,
				use: { type: "string", min: 1, max: 300 },
				images: { type: "boolean", optional: true },
				field: { type: "string", max: 64 }
			}),
			handler(ctx: Context<ClaimRequest>): Promise<AssetDescription[]> {
				return claimAssets(this.db.assets, ctx.params);
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
				return { removed: await this.uploads.sweep() };
			}
		}
	},

	async started() {
		const config = chatConfig(this.broker);
		const { uploads } = config;
		this.secret = config.jwt.secret;
		this.storage = createAssetStorage(uploads);
		const staging = new StagingArea(path.join(uploads.dir, "tmp"));
		const chunks = new ChunkStore(path.join(uploads.dir, "chunks"));
		await staging.init();
		await chunks.init();
		this.ingest = new Ingest({
			assets: this.db.assets,
			storage: this.storage,
			staging,
			maxBytes: uploads.maxBytes,
			quotaBytes: uploads.quotaBytes,
			logger: this.logger
		});
		this.uploads = new ResumableUploads({ uploads: this.db.uploads, assets: this.db.assets, chunks, ingest: this.ingest, staging, config: uploads });
		this.uploads.sweepEvery(err => this.logger.warn("Sweeping abandoned uploads failed", err));
	},

	async stopped() {
		await this.uploads?.stop();
	}
};

export default AssetsService;
