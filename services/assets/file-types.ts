/**
 * What a file is, decided from its first bytes (magic numbers), never from the client's word alone.
 * Allowed: images, PDF, text, office documents, archives, audio and video. Executables, scripts
 * disguised as images and unknown binary data are refused.
 */

export type FileCategory = "image" | "pdf" | "text" | "office" | "archive" | "audio" | "video";

export interface FileType {
	mimeType: string;
	category: FileCategory;
}

/** Enough for every signature below (tar's "ustar" sits at offset 257). */
export const SNIFF_BYTES = 4100;

interface Detected {
	category: FileCategory;
	/** Types a file with these bytes may be stored as; the first is the default. */
	accepts: string[];
	/** Containers shared with unwanted formats (OLE is also .msi): only stored when the client names an accepted type. */
	needsClaim?: boolean;
}

const OFFICE_ZIP = [
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.oasis.opendocument.text",
	"application/vnd.oasis.opendocument.spreadsheet",
	"application/vnd.oasis.opendocument.presentation",
	"application/epub+zip"
];
const OFFICE_OLE = ["application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"];
/** Text is stored under one of these; anything else claimed as text (text/html, …) becomes text/plain. */
const SAFE_TEXT = ["text/plain", "text/csv", "text/markdown", "application/json"];

const ALIASES: Record<string, string> = {
	"image/jpg": "image/jpeg",
	"image/pjpeg": "image/jpeg",
	"image/x-png": "image/png",
	"image/x-ms-bmp": "image/bmp",
	"image/heif": "image/heic",
	"audio/mp3": "audio/mpeg",
	"audio/x-wav": "audio/wav",
	"audio/wave": "audio/wav",
	"audio/vnd.wave": "audio/wav",
	"audio/x-flac": "audio/flac",
	"audio/x-m4a": "audio/mp4",
	"audio/m4a": "audio/mp4",
	"video/avi": "video/x-msvideo",
	"application/x-zip-compressed": "application/zip",
	"application/x-gzip": "application/gzip",
	"application/x-rar-compressed": "application/vnd.rar",
	"application/x-pdf": "application/pdf"
};

const BY_EXTENSION: Record<string, string> = {
	docx: OFFICE_ZIP[0],
	xlsx: OFFICE_ZIP[1],
	pptx: OFFICE_ZIP[2],
	odt: OFFICE_ZIP[3],
	ods: OFFICE_ZIP[4],
	odp: OFFICE_ZIP[5],
	epub: OFFICE_ZIP[6],
	doc: "application/msword",
	xls: "application/vnd.ms-excel",
	ppt: "application/vnd.ms-powerpoint",
	csv: "text/csv",
	md: "text/markdown",
	json: "application/json",
	m4a: "audio/mp4",
	weba: "audio/webm",
	oga: "audio/ogg",
	ogv: "video/ogg"
};

/** Browsers render these themselves; every other type is served as a download. */
export const INLINE_IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);

const ascii = (b: Buffer, offset: number, text: string) => b.length >= offset + text.length && b.toString("latin1", offset, offset + text.length) === text;
const bytes = (b: Buffer, offset: number, sig: number[]) => b.length >= offset + sig.length && sig.every((v, i) => b[offset + i] === v);
const one = (category: FileCategory, ...accepts: string[]): Detected => ({ category, accepts });

function detectIsoMedia(b: Buffer): Detected | null {
	if (!ascii(b, 4, "ftyp")) return null;
	const brand = b.toString("latin1", 8, 12);
	if (brand === "avif" || brand === "avis") return one("image", "image/avif");
	if (["heic", "heix", "heim", "heis", "mif1", "msf1", "hevc"].includes(brand)) return one("image", "image/heic");
	if (brand === "M4A " || brand === "M4B ") return one("audio", "audio/mp4", "video/mp4");
	if (brand === "qt  ") return one("video", "video/quicktime", "video/mp4");
	if (brand.startsWith("3g")) return one("video", "video/3gpp", "audio/3gpp", "video/mp4");
	return one("video", "video/mp4", "audio/mp4", "video/quicktime");
}

function detectZip(b: Buffer): Detected {
	const head = b.toString("latin1");
	// ODF and EPUB put an uncompressed "mimetype" entry first; OOXML names its parts early on.
	// eslint-disable-next-line no-control-regex -- the ZIP signature is made of control bytes
	const odf = /^PK\x03\x04[\s\S]{26}mimetype(application\/[a-z0-9.+-]+)/.exec(head)?.[1];
	const ooxml = head.includes("[Content_Types].xml") || /(word|xl|ppt)\//.test(head);
	const accepts = ["application/zip", ...OFFICE_ZIP];
	if (odf && OFFICE_ZIP.includes(odf)) return { category: "office", accepts: [odf, ...accepts] };
	if (ooxml) {
		const part = /(word|xl|ppt)\//.exec(head)?.[1];
		const guess = part === "word" ? OFFICE_ZIP[0] : part === "xl" ? OFFICE_ZIP[1] : part === "ppt" ? OFFICE_ZIP[2] : null;
		return { category: "office", accepts: guess ? [guess, ...accepts] : accepts };
	}
	return { category: "archive", accepts };
}

function looksLikeText(b: Buffer): boolean {
	if (b.length === 0) return false;
	const start = bytes(b, 0, [0xef, 0xbb, 0xbf]) ? 3 : 0;
	let control = 0;
	for (let i = start; i < b.length; i++) {
		const c = b[i];
		if (c === 0) return false;
		if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c && c !== 0x1b) control++;
	}
	if (control > b.length / 100) return false;
	try {
		// stream: a multi-byte character cut by the end of the sample is not an error.
		new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(start), { stream: true });
		return true;
	} catch {
		return false;
	}
}

function detect(b: Buffer): Detected | null {
	if (bytes(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return one("image", "image/png");
	if (bytes(b, 0, [0xff, 0xd8, 0xff])) return one("image", "image/jpeg");
	if (ascii(b, 0, "GIF87a") || ascii(b, 0, "GIF89a")) return one("image", "image/gif");
	if (ascii(b, 0, "RIFF")) {
		if (ascii(b, 8, "WEBP")) return one("image", "image/webp");
		if (ascii(b, 8, "WAVE")) return one("audio", "audio/wav");
		if (ascii(b, 8, "AVI ")) return one("video", "video/x-msvideo");
		return null;
	}
	if (ascii(b, 0, "BM") && b.length >= 18 && [12, 40, 52, 56, 108, 124].includes(b.readUInt32LE(14))) return one("image", "image/bmp");
	if (bytes(b, 0, [0x49, 0x49, 0x2a, 0x00]) || bytes(b, 0, [0x4d, 0x4d, 0x00, 0x2a])) return one("image", "image/tiff");
	const iso = detectIsoMedia(b);
	if (iso) return iso;
	if (ascii(b, 0, "%PDF-")) return one("pdf", "application/pdf");
	if (bytes(b, 0, [0x50, 0x4b, 0x03, 0x04]) || bytes(b, 0, [0x50, 0x4b, 0x05, 0x06])) return detectZip(b);
	if (bytes(b, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return { category: "office", accepts: OFFICE_OLE, needsClaim: true };
	if (bytes(b, 0, [0x1f, 0x8b])) return one("archive", "application/gzip");
	if (ascii(b, 0, "BZh")) return one("archive", "application/x-bzip2");
	if (bytes(b, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return one("archive", "application/x-xz");
	if (bytes(b, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return one("archive", "application/x-7z-compressed");
	if (ascii(b, 0, "Rar!\x1a\x07")) return one("archive", "application/vnd.rar");
	if (ascii(b, 257, "ustar")) return one("archive", "application/x-tar");
	if (ascii(b, 0, "ID3")) return one("audio", "audio/mpeg");
	if (b.length >= 2 && b[0] === 0xff && (b[1] & 0xf6) === 0xf0) return one("audio", "audio/aac");
	if (b.length >= 2 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0) return one("audio", "audio/mpeg");
	if (ascii(b, 0, "OggS")) return one("audio", "audio/ogg", "video/ogg", "application/ogg");
	if (ascii(b, 0, "fLaC")) return one("audio", "audio/flac");
	if (bytes(b, 0, [0x1a, 0x45, 0xdf, 0xa3])) {
		return b.includes("webm", 0, "latin1") ? one("video", "video/webm", "audio/webm") : one("video", "video/x-matroska", "video/webm");
	}
	if (looksLikeText(b)) return { category: "text", accepts: SAFE_TEXT };
	return null;
}

function normalizeClaim(mimeType: string | undefined): string | null {
	const type = (mimeType ?? "").split(";")[0].trim().toLowerCase();
	if (!type || type === "application/octet-stream" || type === "binary/octet-stream") return null;
	return ALIASES[type] ?? type;
}

function claimFromName(fileName: string): string | null {
	const ext = /\.([a-z0-9]{1,8})$/i.exec(fileName)?.[1]?.toLowerCase();
	return ext ? (BY_EXTENSION[ext] ?? null) : null;
}

export type FileTypeVerdict = { ok: true; type: FileType } | { ok: false; reason: "not-allowed" } | { ok: false; reason: "mismatch"; detected: string };

/**
 * Decides a file's type from its first bytes (`head`, up to SNIFF_BYTES). The client's claimed type
 * (or, without one, its file name's extension) only chooses among types those bytes may be, and a
 * claim the bytes contradict (an ELF binary "image/png", a JPEG "image/png") is refused.
 */
export function resolveFileType(head: Buffer, claimedMimeType: string | undefined, fileName: string): FileTypeVerdict {
	const detected = detect(head);
	if (!detected) return { ok: false, reason: "not-allowed" };
	const claim = normalizeClaim(claimedMimeType);
	const { category, accepts } = detected;
	if (claim == null) {
		const byName = claimFromName(fileName);
		if (byName && accepts.includes(byName)) return { ok: true, type: { mimeType: byName, category } };
		if (detected.needsClaim) return { ok: false, reason: "not-allowed" };
		return { ok: true, type: { mimeType: accepts[0], category } };
	}
	if (accepts.includes(claim))
		return { ok: true, type: { mimeType: claim, category: OFFICE_ZIP.includes(claim) || OFFICE_OLE.includes(claim) ? "office" : category } };
	if (category === "text" && (claim.startsWith("text/") || /^application\/([a-z.+-]*\+)?(json|xml|yaml|x-yaml)$/.test(claim)))
		return { ok: true, type: { mimeType: "text/plain", category } };
	if (detected.needsClaim) return { ok: false, reason: "not-allowed" };
	return { ok: false, reason: "mismatch", detected: accepts[0] };
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what it removes
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f<>:"/\\|?*\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The name shown to people and offered on download. Never used as a path: stored files are named
 * by asset id. Keeps the base name, drops control and bidi characters and anything a file system
 * would refuse, and bounds the length (keeping the extension).
 */
export function sanitizeFileName(name: string | undefined, fallback = "file"): string {
	const base = (name ?? "").normalize("NFC").split(/[\\/]/).pop() ?? "";
	let clean = base
		.replace(UNSAFE_NAME_CHARS, "_")
		.replace(/\s+/g, " ")
		.trim()
		.replace(/^[.\s]+|[.\s]+$/g, "");
	if (!clean || /^_+$/.test(clean)) clean = fallback;
	if (clean.length > 180) {
		const ext = /\.[A-Za-z0-9]{1,10}$/.exec(clean)?.[0] ?? "";
		clean = clean.slice(0, 180 - ext.length) + ext;
	}
	return clean;
}

/** `Content-Disposition` with an ASCII fallback name and the exact name in RFC 5987 form. */
export function contentDisposition(kind: "inline" | "attachment", fileName: string): string {
	const fallback = fileName.replace(/[^\x20-\x7e]/g, "_").replace(/["\\%]/g, "_");
	const encoded = encodeURIComponent(fileName).replace(/['()*]/g, c => "%" + c.charCodeAt(0).toString(16).toUpperCase());
	return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
