import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, test } from "node:test";
import type { Delivery } from "../../../lib/storage/index.ts";
import { cacheMaxAge, downloadResponse, linkExpiry, type DownloadHeaders } from "../../../services/assets/download.ts";

const ID = "a".repeat(24);
const BYTES = "0123456789abcdefghij";
const ETAG = `"${ID}-original-${BYTES.length}"`;

function file(content = BYTES): Delivery & { kind: "file" } {
	return { kind: "file", size: content.length, open: range => Readable.from([range ? content.slice(range.start, range.end + 1) : content]) };
}

function answer(headers: DownloadHeaders = {}, doc = { _id: ID, name: "notes.pdf", mimeType: "application/pdf" }, variant: "original" | "thumb" = "original") {
	return downloadResponse({ doc, variant, delivery: file(), headers, maxAge: 3600 });
}

const bodyOf = async (res: ReturnType<typeof answer>) => (res.body ? text(res.body()) : null);

describe("downloadResponse", () => {
	test("the whole file with headers that keep a browser from running or sniffing it", async () => {
		const res = answer();
		assert.equal(res.status, 200);
		assert.deepEqual(res.headers, {
			"Content-Type": "application/pdf",
			"Content-Disposition": `attachment; filename="notes.pdf"; filename*=UTF-8''notes.pdf`,
			"X-Content-Type-Options": "nosniff",
			"Content-Security-Policy": "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
			"Cache-Control": "private, max-age=3600, immutable",
			ETag: ETAG,
			"Accept-Ranges": "bytes",
			"Content-Length": BYTES.length
		});
		assert.equal(await bodyOf(res), BYTES);
	});

	test("one range: 206 with its slice", async () => {
		const res = answer({ range: "bytes=2-5" });
		assert.equal(res.status, 206);
		assert.equal(res.headers["Content-Range"], `bytes 2-5/${BYTES.length}`);
		assert.equal(res.headers["Content-Length"], 4);
		assert.equal(await bodyOf(res), "2345");
	});

	test("a suffix range: the last bytes", async () => {
		const res = answer({ range: "bytes=-3" });
		assert.equal(res.status, 206);
		assert.equal(res.headers["Content-Range"], `bytes 17-19/${BYTES.length}`);
		assert.equal(await bodyOf(res), "hij");
	});

	test("a range past the end: 416 naming the size, no body", () => {
		const res = answer({ range: `bytes=${BYTES.length}-` });
		assert.equal(res.status, 416);
		assert.equal(res.headers["Content-Range"], `bytes */${BYTES.length}`);
		assert.equal(res.headers["Content-Length"], undefined);
		assert.equal(res.body, null);
	});

	test("If-None-Match with the ETag (in a list, weak, or *): 304 without a body", () => {
		for (const ifNoneMatch of [ETAG, `"x", W/${ETAG}`, "*"]) {
			const res = answer({ ifNoneMatch, range: "bytes=0-1" });
			assert.equal(res.status, 304, ifNoneMatch);
			assert.equal(res.body, null);
			assert.equal(res.headers.ETag, ETAG);
		}
		assert.equal(answer({ ifNoneMatch: '"other"' }).status, 200);
	});

	test("If-Range: the same ETag keeps the range, another one gets the whole file", async () => {
		assert.equal(answer({ range: "bytes=0-1", ifRange: ETAG }).status, 206);
		const stale = answer({ range: "bytes=0-1", ifRange: '"other"' });
		assert.equal(stale.status, 200);
		assert.equal(stale.headers["Content-Range"], undefined);
		assert.equal(await bodyOf(stale), BYTES);
	});

	test("images browsers render are inline; thumbnails are WebP named after the original; text declares UTF-8", () => {
		const photo = answer({}, { _id: ID, name: "cat.png", mimeType: "image/png" });
		assert.match(String(photo.headers["Content-Disposition"]), /^inline; filename="cat.png"/);
		const tiff = answer({}, { _id: ID, name: "x.tiff", mimeType: "image/tiff" });
		assert.match(String(tiff.headers["Content-Disposition"]), /^attachment;/);
		const thumb = answer({}, { _id: ID, name: "report.v2.pdf", mimeType: "application/pdf" }, "thumb");
		assert.equal(thumb.headers["Content-Type"], "image/webp");
		assert.match(String(thumb.headers["Content-Disposition"]), /^inline; filename="report.v2.webp"/);
		assert.equal(thumb.headers.ETag, `"${ID}-thumb-${BYTES.length}"`);
		assert.equal(answer({}, { _id: ID, name: "a.txt", mimeType: "text/plain" }).headers["Content-Type"], "text/plain; charset=utf-8");
	});

	test("a store that serves its own URLs: 302 there, cached five minutes at most", () => {
		const res = downloadResponse({
			doc: { _id: ID, name: "a.pdf", mimeType: "application/pdf" },
			variant: "original",
			delivery: { kind: "redirect", url: "https://cdn/x" },
			headers: {},
			maxAge: 3600
		});
		assert.deepEqual(res, { status: 302, location: "https://cdn/x", headers: { "Cache-Control": "private, max-age=300" }, body: null });
	});
});

describe("signed link expiry", () => {
	test("exp is whole seconds; anything else can never match a signature", () => {
		assert.equal(linkExpiry("1700000000"), 1700000000);
		assert.equal(linkExpiry("0"), 0);
		for (const bad of [undefined, "", "abc", "-5", "1.5", "1".repeat(13)]) assert.equal(linkExpiry(bad), -1, String(bad));
	});

	test("caches keep a never-expiring link a year, others until expiry and at most a day", () => {
		const now = 1_000_000_000_000;
		assert.equal(cacheMaxAge(0, now), 365 * 86400);
		assert.equal(cacheMaxAge(now / 1000 + 120, now), 120);
		assert.equal(cacheMaxAge(now / 1000 + 7 * 86400, now), 86400);
		assert.equal(cacheMaxAge(now / 1000 - 10, now), 0);
	});
});
