import { createReadStream } from "node:fs";
import http from "node:http";
import { pipeline } from "node:stream/promises";
import { v2 as cloudinary, type UploadApiResponse } from "cloudinary";
import type { AssetVariant } from "../asset-urls.ts";
import type { AssetStorage, Delivery, OriginalFile, SavedAsset, StorageLocation } from "./driver.ts";
import { AVATAR_SIZE, THUMBNAIL_MAX } from "./images.ts";

/** Cloudinary download URLs expire within this, and within our own link's expiry. */
export const DOWNLOAD_TTL_SECONDS = 3600;
/** Download URLs are signed for a timestamp rounded down to this step. */
const URL_STEP_SECONDS = 300;

interface Credentials {
	cloud_name: string;
	api_key: string;
	api_secret: string;
	[option: string]: unknown;
}

/**
 * `cloudinary://KEY:SECRET@CLOUD?option=value` (the SDK's CLOUDINARY_URL form; query options such
 * as upload_prefix are passed on). Parsed here so each driver carries its own account instead of
 * the SDK's process-wide configuration.
 */
export function parseCloudinaryUrl(url: string): Credentials {
	const parsed = new URL(url);
	if (parsed.protocol !== "cloudinary:" || !parsed.hostname || !parsed.username || !parsed.password)
		throw new Error("CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME");
	const options: Credentials = {
		cloud_name: parsed.hostname,
		api_key: decodeURIComponent(parsed.username),
		api_secret: decodeURIComponent(parsed.password)
	};
	for (const [key, value] of parsed.searchParams) options[key] = value;
	return options;
}

/** Images become Cloudinary images (transformable); audio and video its "video" type; the rest raw files. */
function resourceTypeOf(original: OriginalFile): "image" | "video" | "raw" {
	if (original.image) return "image";
	return /^(audio|video)\//.test(original.mimeType) ? "video" : "raw";
}

/**
 * Assets on Cloudinary, uploaded as "authenticated" resources: only signed delivery URLs work,
 * and only this server signs them (for viewers it checked). Thumbnails are Cloudinary transformations.
 */
export class CloudinaryStorage implements AssetStorage {
	readonly kind = "cloudinary" as const;
	readonly rendersThumbnails = false;
	private readonly account: Credentials;
	private readonly folder: string;
	/** The SDK picks http or https once, when it is first loaded; an http upload_prefix (a local stand-in) needs a plain agent. */
	private readonly agent: http.Agent | undefined;

	constructor(url: string, folder = "chat-assets") {
		this.account = parseCloudinaryUrl(url);
		this.folder = folder;
		const prefix = this.account.upload_prefix;
		this.agent = typeof prefix === "string" && prefix.startsWith("http:") ? new http.Agent({ keepAlive: false }) : undefined;
	}

	async save(assetId: string, original: OriginalFile): Promise<SavedAsset> {
		const resourceType = resourceTypeOf(original);
		let sink!: NodeJS.WritableStream;
		const upload = new Promise<UploadApiResponse>((done, fail) => {
			sink = cloudinary.uploader.upload_stream(
				{
					...this.account,
					...(this.agent ? { agent: this.agent } : {}),
					public_id: `${this.folder}/${assetId}`,
					resource_type: resourceType,
					type: "authenticated",
					overwrite: false,
					timeout: 120_000
				},
				(err, result) => (err || !result ? fail(cloudinaryError(err)) : done(result))
			);
		});
		// The SDK reports the outcome through its callback; the pipe only carries the bytes.
		const [, result] = await Promise.all([pipeline(createReadStream(original.path), sink), upload]);
		return {
			location: {
				driver: "cloudinary",
				publicId: result.public_id,
				resourceType: result.resource_type ?? resourceType,
				type: result.type ?? "authenticated",
				version: Number(result.version),
				format: result.format || null
			},
			hasThumbnail: resourceType === "image",
			width: typeof result.width === "number" ? result.width : null,
			height: typeof result.height === "number" ? result.height : null
		};
	}

	/**
	 * An original is a private download URL (Cloudinary's download API) that expires with our own link, and within
	 * DOWNLOAD_TTL_SECONDS at most (our links that never expire, avatars, get that too). Thumbnails are
	 * transformations, which the download API does not make: with `auth_token_key` in CLOUDINARY_URL (token-based
	 * authentication, an account feature) they carry an expiring token; without it, a signed delivery URL, which does not expire.
	 */
	async deliver(_assetId: string, location: StorageLocation, variant: AssetVariant, avatar: boolean, exp = 0, now = Date.now()): Promise<Delivery | null> {
		if (location.driver !== "cloudinary") return null;
		if (variant === "thumb" && location.resourceType !== "image") return null;
		// Rounded down, so one asset keeps one URL for a while (a browser cache hit); expiry never later than our link's.
		const timestamp = Math.floor(now / 1000 / URL_STEP_SECONDS) * URL_STEP_SECONDS;
		const expiresAt = Math.min(exp > 0 ? exp : Number.MAX_SAFE_INTEGER, timestamp + DOWNLOAD_TTL_SECONDS);
		if (variant === "original") {
			const url = cloudinary.utils.private_download_url(location.publicId, location.format ?? "", {
				...this.account,
				resource_type: location.resourceType,
				type: location.type,
				timestamp,
				expires_at: expiresAt
			} as never);
			return { kind: "redirect", url };
		}
		const tokenKey = typeof this.account.auth_token_key === "string" ? this.account.auth_token_key : null;
		const { auth_token_key: _unused, ...account } = this.account;
		const url = cloudinary.url(location.publicId, {
			...account,
			resource_type: location.resourceType,
			type: location.type,
			version: location.version,
			transformation: [
				avatar ? { width: AVATAR_SIZE, height: AVATAR_SIZE, crop: "fill", gravity: "auto" } : { width: THUMBNAIL_MAX, height: THUMBNAIL_MAX, crop: "limit" }
			],
			format: "webp",
			...(tokenKey ? { auth_token: { key: tokenKey, start_time: timestamp, expiration: expiresAt } } : {}),
			sign_url: true,
			secure: true,
			urlAnalytics: false
		});
		return { kind: "redirect", url };
	}

	async remove(_assetId: string, location: StorageLocation): Promise<void> {
		if (location.driver !== "cloudinary") return;
		await cloudinary.uploader.destroy(location.publicId, {
			...this.account,
			...(this.agent ? { agent: this.agent } : {}),
			resource_type: location.resourceType,
			type: location.type,
			invalidate: true
		});
	}
}

function cloudinaryError(err: unknown): Error {
	const e = err as { message?: string; http_code?: number } | undefined;
	return new Error(`Cloudinary upload failed${e?.http_code ? ` (${e.http_code})` : ""}: ${e?.message ?? "no response"}`);
}
