import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { characterCount, checkText, hasVisibleText } from "../../lib/text.ts";

describe("text rules", () => {
	test("names: control characters and line breaks refused, bidi overrides removed, invisible-only refused", () => {
		for (const text of ["a\u0000", "a\nb", "a\rb", "a\tb", "a\u007f", "a\u0085", "a\u2028b"])
			assert.deepEqual(checkText(text, "name"), { ok: false, problem: "control" }, JSON.stringify(text));
		for (const text of ["\u200b", "\u200c\u200d", "\u2060", "\ufeff", " \u00a0 ", "\u202e", "\u2066\u2069", "\u3164", "\u00ad", "\u2800", " \u2800\u2800 "])
			assert.deepEqual(checkText(text, "name"), { ok: false, problem: "invisible" }, JSON.stringify(text));
		assert.deepEqual(checkText(" Ann\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069 ", "name"), { ok: true, value: "Ann" });
		assert.deepEqual(checkText("", "name"), { ok: true, value: "" });
		assert.deepEqual(checkText("e\u0301", "name"), { ok: true, value: "é" }, "NFC");
		assert.deepEqual(checkText("👩\u200d💻", "name"), { ok: true, value: "👩\u200d💻" }, "joiners inside text stay");
	});

	test("one-line text follows the name rules", () => {
		assert.deepEqual(checkText("busy\u0007", "line"), { ok: false, problem: "control" });
		assert.deepEqual(checkText("\u200b", "line"), { ok: false, problem: "invisible" });
		assert.deepEqual(checkText("in \u2066a\u2069 call", "line"), { ok: true, value: "in a call" });
	});

	test("content: newlines and tabs kept (CR LF and CR become LF), other controls refused, invisible-only is empty", () => {
		assert.deepEqual(checkText("a\r\nb\rc\n\td", "content"), { ok: true, value: "a\nb\nc\n\td" });
		for (const text of ["a\u0000", "a\u0007", "a\u001b[0m", "a\u000b", "a\u000c", "a\u009b"])
			assert.deepEqual(checkText(text, "content"), { ok: false, problem: "control" }, JSON.stringify(text));
		assert.deepEqual(checkText("\u200b\u200b", "content"), { ok: true, value: "" });
		assert.deepEqual(checkText("\u202eevil", "content"), { ok: true, value: "\u202eevil" }, "bidi marks are part of right-to-left writing");
	});

	test("hasVisibleText", () => {
		assert.equal(hasVisibleText("\u200b x"), true);
		assert.equal(hasVisibleText("\u200b \ufeff"), false);
		assert.equal(hasVisibleText("a\u2800b"), true, "the braille blank inside text stays");
	});

	test("characters are counted as code points: an emoji (two UTF-16 units) counts once", () => {
		assert.equal(characterCount(""), 0);
		assert.equal(characterCount("abc"), 3);
		assert.equal(characterCount("😀😀"), 2);
		assert.equal(characterCount("é"), 1);
	});
});
