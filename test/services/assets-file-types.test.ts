import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { contentDisposition, resolveFileType, sanitizeFileName } from "../../services/assets/file-types.ts";
import { parseRange } from "../../lib/storage/range.ts";

const ok = (head: Buffer, claim: string | undefined, name = "f") => {
	const verdict = resolveFileType(head, claim, name);
	assert.ok(verdict.ok, `${claim} / ${name}: ${JSON.stringify(verdict)}`);
	return verdict.type;
};

describe("file types from magic bytes", () => {
	test("containers take the client's more precise name only when the bytes allow it", () => {
		const zip = Buffer.concat([Buffer.from("PK\x03\x04", "latin1"), Buffer.alloc(26), Buffer.from("[Content_Types].xml word/document.xml")]);
		assert.deepEqual(ok(zip, undefined, "cv.docx"), {
			mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			category: "office"
		});
		assert.equal(ok(zip, "application/x-zip-compressed").mimeType, "application/zip");
		assert.equal(resolveFileType(zip, "image/png", "x.png").ok, false);
		const ole = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]);
		assert.equal(ok(ole, "application/msword").mimeType, "application/msword");
		assert.deepEqual(resolveFileType(ole, undefined, "setup.msi"), { ok: false, reason: "not-allowed" });
	});

	test("text is stored as a safe text type; media and archives are recognised", () => {
		assert.equal(ok(Buffer.from("<script>alert(1)</script>"), "text/html").mimeType, "text/plain");
		assert.equal(ok(Buffer.from("a,b\n1,2\n"), "text/csv").mimeType, "text/csv");
		assert.equal(ok(Buffer.from("héllo wörld"), undefined).category, "text");
		assert.equal(ok(Buffer.from("ID3\x04\x00", "latin1"), "audio/mp3").mimeType, "audio/mpeg");
		assert.equal(ok(Buffer.from("\x00\x00\x00\x18ftypmp42", "latin1"), "video/mp4").category, "video");
		assert.equal(ok(Buffer.from([0x1f, 0x8b, 8, 0]), undefined).mimeType, "application/gzip");
		assert.equal(ok(Buffer.from("RIFF\x00\x00\x00\x00WEBPVP8 ", "latin1"), "image/webp").category, "image");
		assert.deepEqual(resolveFileType(Buffer.from([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0]), undefined, "a.exe"), { ok: false, reason: "not-allowed" });
	});
});

describe("display names and downloads", () => {
	test("names lose paths, control and bidi characters; the header keeps the exact name encoded", () => {
		assert.equal(sanitizeFileName("../../etc/passwd"), "passwd");
		assert.equal(sanitizeFileName("C:\\Users\\me\\pic.png"), "pic.png");
		assert.equal(sanitizeFileName("evil\u202egnp.exe"), "evil_gnp.exe");
		assert.equal(sanitizeFileName("..."), "file");
		assert.equal(sanitizeFileName("a".repeat(300) + ".pdf").length, 180);
		assert.ok(sanitizeFileName("a".repeat(300) + ".pdf").endsWith(".pdf"));
		assert.equal(
			contentDisposition("attachment", 'Résumé "v2".pdf'),
			`attachment; filename="R_sum_ _v2_.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22v2%22.pdf`
		);
	});

	test("Range headers", () => {
		assert.deepEqual(parseRange("bytes=0-9", 100), { kind: "range", start: 0, end: 9 });
		assert.deepEqual(parseRange("bytes=90-200", 100), { kind: "range", start: 90, end: 99 });
		assert.deepEqual(parseRange("bytes=-10", 100), { kind: "range", start: 90, end: 99 });
		assert.deepEqual(parseRange("bytes=-1000", 100), { kind: "range", start: 0, end: 99 });
		assert.deepEqual(parseRange("bytes=100-", 100), { kind: "unsatisfiable" });
		assert.deepEqual(parseRange("bytes=-0", 100), { kind: "unsatisfiable" });
		assert.deepEqual(parseRange("bytes=5-2", 100), { kind: "all" });
		assert.deepEqual(parseRange("bytes=0-1,5-6", 100), { kind: "all" });
		assert.deepEqual(parseRange("items=0-1", 100), { kind: "all" });
		assert.deepEqual(parseRange(undefined, 100), { kind: "all" });
	});
});
