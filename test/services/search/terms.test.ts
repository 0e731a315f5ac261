import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { termsOf, wordsOf } from "../../../services/search/terms.ts";

describe("the terms of a text", () => {
	// termsOf takes a shortcut for plain ASCII; the highlighter finds words with wordsOf: both must agree on every text.
	const texts = [
		"Hello World, it's 2026-12-01 at 10:30!",
		"snake_case and kebab-case, e-mail me@example.com, https://x.io/a?b=C#D",
		"MiXeD CaSe 42nd ABC123def  tabs\tand\nnewlines",
		"~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
		"",
		"Café crème, naïve résumé",
		"日本語のテキスト and English",
		"emoji 🎉 party, ²³ superscripts"
	];
	for (const text of texts) {
		test(JSON.stringify(text).slice(0, 40), () => {
			assert.deepEqual(
				termsOf(text),
				wordsOf(text).map(w => w.term)
			);
		});
	}
});
