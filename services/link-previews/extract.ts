import { Parser } from "htmlparser2";

/**
 * What a page says about itself, from its <head>: Open Graph first, then Twitter cards, then <title> and
 * the description meta tag. Text is whitespace-collapsed and bounded; the image is made absolute against
 * the page's final URL and kept only when it is http(s). Parsing stops at <body>: the head is enough.
 */

export interface PageFacts {
	title: string | null;
	description: string | null;
	siteName: string | null;
	/** Absolute http(s) URL of the page's image. */
	image: string | null;
}

export const LIMITS = { title: 200, description: 500, siteName: 100, image: 2048 } as const;

const META_KEYS: Record<string, keyof Candidates> = {
	"og:title": "ogTitle",
	"og:description": "ogDescription",
	"og:site_name": "siteName",
	"og:image": "ogImage",
	"og:image:url": "ogImage",
	"og:image:secure_url": "ogImage",
	"twitter:title": "twitterTitle",
	"twitter:description": "twitterDescription",
	"twitter:image": "twitterImage",
	"twitter:image:src": "twitterImage",
	description: "description"
};

interface Candidates {
	ogTitle?: string;
	ogDescription?: string;
	siteName?: string;
	ogImage?: string;
	twitterTitle?: string;
	twitterDescription?: string;
	twitterImage?: string;
	description?: string;
	title?: string;
}

// eslint-disable-next-line no-control-regex -- control characters are what it removes
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

function clean(text: string | undefined, max: number): string | null {
	if (text == null) return null;
	const value = text.replace(CONTROL, "").replace(/\s+/g, " ").trim();
	if (!value) return null;
	return value.length > max ? value.slice(0, max - 1).trimEnd() + "…" : value;
}

function absoluteImage(src: string | undefined, pageUrl: string): string | null {
	const value = src?.trim();
	if (!value || !URL.canParse(value, pageUrl)) return null;
	const url = new URL(value, pageUrl);
	if (url.protocol !== "http:" && url.protocol !== "https:") return null;
	return url.href.length <= LIMITS.image ? url.href : null;
}

/** Facts of the page at `pageUrl` (after redirects) whose HTML is `html`. */
export function extractPageFacts(html: string, pageUrl: string): PageFacts {
	const found: Candidates = {};
	let inTitle = false;
	let title = "";
	const parser = new Parser(
		{
			onopentag(name, attributes) {
				if (name === "body") return parser.pause();
				if (name === "title" && found.title == null) inTitle = true;
				if (name !== "meta") return;
				const key = (attributes.property ?? attributes.name ?? "").trim().toLowerCase();
				const field = META_KEYS[key];
				if (field && found[field] == null && attributes.content != null) found[field] = attributes.content;
			},
			ontext(text) {
				if (inTitle) title += text;
			},
			onclosetag(name) {
				if (name === "title" && inTitle) {
					inTitle = false;
					found.title = title;
				}
				if (name === "head") parser.pause();
			}
		},
		{ decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true }
	);
	parser.write(html);
	parser.end();
	if (inTitle) found.title = title;
	return {
		title: clean(found.ogTitle ?? found.twitterTitle ?? found.title, LIMITS.title),
		description: clean(found.ogDescription ?? found.twitterDescription ?? found.description, LIMITS.description),
		siteName: clean(found.siteName, LIMITS.siteName),
		image: absoluteImage(found.ogImage ?? found.twitterImage, pageUrl)
	};
}

/** The page's text: the charset its Content-Type names, else a <meta charset> near the top, else UTF-8. */
export function decodeHtml(body: Buffer, headerCharset: string | null): string {
	const head = body.subarray(0, 2048).toString("latin1");
	const meta = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1];
	for (const label of [headerCharset, meta, "utf-8"]) {
		if (!label) continue;
		try {
			return new TextDecoder(label).decode(body);
		} catch {
			// an unknown label: try the next
		}
	}
	return body.toString("utf8");
}
