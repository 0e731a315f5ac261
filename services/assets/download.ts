import type { Readable } from "node:stream";
import type { AssetVariant } from "../../lib/asset-urls.ts";
import { THUMBNAIL_TYPE } from "../../lib/storage/images.ts";
import type { Delivery } from "../../lib/storage/index.ts";
import { parseRange } from "../../lib/storage/range.ts";
import type { AssetDoc } from "./documents.ts";
import { contentDisposition, INLINE_IMAGE_TYPES } from "./file-types.ts";

/** Request headers the download route copies into meta (actions never see the HTTP request). */
export interface DownloadHeaders {
	range?: string;
	ifNoneMatch?: string;
	ifRange?: string;
}

export interface DownloadResponse {
	status: 200 | 206 | 302 | 304 | 416;
	headers: Record<string, string | number>;
	/** Where a 302 sends the client. */
	location?: string;
	/** Opens the bytes to send; null when the answer has no body. */
	body: (() => Readable) | null;
}

export interface DownloadRequest {
	doc: Pick<AssetDoc, "_id" | "name" | "mimeType">;
	variant: AssetVariant;
	delivery: Delivery;
	headers: DownloadHeaders;
	/** Seconds a private cache may keep the answer (see cacheMaxAge). */
	maxAge: number;
}

const DAY = 86400;

/** A signed link's `exp`: whole seconds (0: never expires), or -1 when it is no number at all, which no signature matches. */
export function linkExpiry(exp: string | undefined): number {
	return /^\d{1,12}$/.test(exp ?? "") ? Number(exp) : -1;
}

/** A year for links that never expire, otherwise until the link expires, at most a day. */
export function cacheMaxAge(exp: number, now = Date.now()): number {
	return exp === 0 ? 365 * DAY : Math.max(0, Math.min(DAY, Math.floor(exp - now / 1000)));
}

/**
 * The answer to a download whose signature was checked: a redirect to the store's own signed URL,
 * or the file (whole, one range, 304 for a copy the client already has, 416 for a range past its end)
 * with headers that keep a browser from running or sniffing it.
 */
export function downloadResponse({ doc, variant, delivery, headers: wanted, maxAge }: DownloadRequest): DownloadResponse {
	if (delivery.kind === "redirect") {
		return { status: 302, location: delivery.url, headers: { "Cache-Control": `private, max-age=${Math.min(maxAge, 300)}` }, body: null };
	}
	const type = variant === "thumb" ? THUMBNAIL_TYPE : doc.mimeType;
	const name = variant === "thumb" ? `${doc.name.replace(/\.[^.]*$/, "")}.webp` : doc.name;
	const etag = `"${doc._id}-${variant}-${delivery.size}"`;
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
	if (wanted.ifNoneMatch && (wanted.ifNoneMatch.trim() === "*" || wanted.ifNoneMatch.split(",").some(t => t.trim().replace(/^W\//, "") === etag))) {
		return { status: 304, headers, body: null };
	}
	// If-Range with another validator: the client's partial copy is stale, send everything.
	const range = wanted.ifRange && wanted.ifRange.trim() !== etag ? { kind: "all" as const } : parseRange(wanted.range, delivery.size);
	if (range.kind === "unsatisfiable") {
		headers["Content-Range"] = `bytes */${delivery.size}`;
		return { status: 416, headers, body: null };
	}
	if (range.kind === "range") {
		const { start, end } = range;
		headers["Content-Range"] = `bytes ${start}-${end}/${delivery.size}`;
		headers["Content-Length"] = end - start + 1;
		return { status: 206, headers, body: () => delivery.open({ start, end }) };
	}
	headers["Content-Length"] = delivery.size;
	return { status: 200, headers, body: () => delivery.open() };
}
