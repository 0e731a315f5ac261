import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeHtml, extractPageFacts } from "../../../services/link-previews/extract.ts";
import { linkToPreview } from "../../../services/link-previews/previews.ts";

describe("link-preview page facts", () => {
	test("Open Graph wins over Twitter cards, which win over <title> and the description meta tag", () => {
		const html = `<!doctype html><html><head>
			<title>Plain title</title>
			<meta name="description" content="Plain description">
			<meta name="twitter:title" content="Card title"><meta name="twitter:image" content="/card.png">
			<meta property="og:title" content="OG &amp; title"><meta property="og:description" content="OG description">
			<meta property="og:site_name" content="Example"><meta property="og:image" content="img/og.png">
			</head><body><meta property="og:title" content="in the body: ignored"></body></html>`;
		assert.deepEqual(extractPageFacts(html, "https://example.com/a/page"), {
			title: "OG & title",
			description: "OG description",
			siteName: "Example",
			image: "https://example.com/a/img/og.png"
		});
	});

	test("falls back to Twitter, then to <title> and meta description; attribute case and order do not matter", () => {
		const card = `<head><META NAME="Twitter:Title" CONTENT="Card"><meta content="Card text" name="twitter:description"><title>T</title></head>`;
		assert.deepEqual(extractPageFacts(card, "https://x.org/"), { title: "Card", description: "Card text", siteName: null, image: null });
		const plain = `<html><head><title>\n  A   spaced\ttitle </title><meta name="description" content="  Some\n text "></head></html>`;
		assert.deepEqual(extractPageFacts(plain, "https://x.org/"), { title: "A spaced title", description: "Some text", siteName: null, image: null });
	});

	test("nothing to say: all null; the first value of a key counts", () => {
		assert.deepEqual(extractPageFacts("<html><body><p>hi</p></body></html>", "https://x.org/"), {
			title: null,
			description: null,
			siteName: null,
			image: null
		});
		const twice = `<head><meta property="og:title" content="First"><meta property="og:title" content="Second"></head>`;
		assert.equal(extractPageFacts(twice, "https://x.org/").title, "First");
	});

	test("text is bounded and cleaned of control and bidi characters; images only http(s)", () => {
		const long = "x".repeat(1000);
		const html = `<head><meta property="og:title" content="${long}"><meta property="og:description" content="a\u0007b\u202ec"><meta property="og:image" content="javascript:alert(1)"></head>`;
		const facts = extractPageFacts(html, "https://x.org/");
		assert.equal(facts.title!.length, 200);
		assert.ok(facts.title!.endsWith("…"));
		assert.equal(facts.description, "abc");
		assert.equal(facts.image, null);
		for (const src of ["data:image/png;base64,AAAA", "file:///etc/passwd", "ftp://x.org/a.png"])
			assert.equal(extractPageFacts(`<head><meta property="og:image" content="${src}"></head>`, "https://x.org/").image, null, src);
	});

	test("markup in values stays text (the web app renders it as text)", () => {
		const html = `<head><title>&lt;script&gt;alert(1)&lt;/script&gt;</title></head>`;
		assert.equal(extractPageFacts(html, "https://x.org/").title, "<script>alert(1)</script>");
	});

	test("charsets: the header's, else a <meta charset>, else UTF-8", () => {
		const latin1 = Buffer.from("<title>caf\xe9</title>", "latin1");
		assert.equal(decodeHtml(latin1, "iso-8859-1"), "<title>café</title>");
		assert.equal(decodeHtml(Buffer.concat([Buffer.from('<meta charset="windows-1252">'), latin1]), null).endsWith("café</title>"), true);
		assert.equal(decodeHtml(Buffer.from("<title>café</title>"), "no-such-charset"), "<title>café</title>");
	});
});

describe("which link a message event asks a preview for", () => {
	const base = { content: "see https://example.com/a.", deletedAt: null, editedAt: null, system: null, preview: null };

	test("a new message: its first link; none for system lines, deleted messages or text without links", () => {
		assert.equal(linkToPreview(base, "created"), "https://example.com/a");
		assert.equal(linkToPreview({ ...base, system: { type: "member.left" } }, "created"), null);
		assert.equal(linkToPreview({ ...base, deletedAt: new Date().toISOString() }, "created"), null);
		assert.equal(linkToPreview({ ...base, content: "no links here" }, "created"), null);
	});

	test("an update: only a fresh edit whose first link is not the one previewed", () => {
		const now = Date.now();
		const fresh = new Date(now - 1000).toISOString();
		assert.equal(linkToPreview({ ...base, editedAt: fresh }, "updated", now), "https://example.com/a");
		assert.equal(linkToPreview({ ...base, editedAt: fresh, preview: { url: "https://example.com/a" } }, "updated", now), null);
		assert.equal(linkToPreview(base, "updated", now), null, "never edited: a reaction or a reply refresh");
		assert.equal(linkToPreview({ ...base, editedAt: new Date(now - 3_600_000).toISOString() }, "updated", now), null, "an old edit");
	});
});
