import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { firstLink } from "../../lib/links.ts";

describe("first link of a message", () => {
	test("the first http(s) URL, without the punctuation that ends the sentence", () => {
		assert.equal(firstLink("look: https://example.com/a?b=1#c, then http://other.org"), "https://example.com/a?b=1#c");
		assert.equal(firstLink("HTTPS://Example.COM/Path."), "https://example.com/Path");
		assert.equal(firstLink("(see https://en.wikipedia.org/wiki/Foo_(bar))"), "https://en.wikipedia.org/wiki/Foo_(bar)");
		assert.equal(firstLink("(see https://example.com/x)"), "https://example.com/x");
		assert.equal(firstLink("**https://example.com/bold**"), "https://example.com/bold");
	});

	test("no link: plain text, other schemes, links inside code", () => {
		for (const text of [
			"",
			"hello",
			"ftp://example.com/x",
			"javascript:alert(1)",
			"mailto:a@b.c",
			"`https://example.com/code`",
			"```\nhttps://example.com/block\n```",
			"https://"
		])
			assert.equal(firstLink(text), null, text);
		assert.equal(firstLink("`https://a.org` and https://b.org"), "https://b.org/");
	});
});
