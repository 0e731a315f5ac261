import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SearchHighlight } from "../../../contract/search.ts";
import { offsetOf, cursorAt, MAX_RESULTS } from "../../../services/search/cursor.ts";
import { highlightsOf } from "../../../services/search/highlights.ts";
import { queryTerms } from "../../../services/search/terms.ts";

const marked = (h: SearchHighlight) => h.ranges.map(([s, e]) => h.text.slice(s, e));
const is =
	(...terms: string[]) =>
	(term: string) =>
		terms.includes(term);

describe("highlights", () => {
	test("a short message is one fragment with every matching word marked, whatever its case or accents", () => {
		const [h] = highlightsOf("Le Café est ouvert, le cafe aussi", is("cafe"));
		assert.equal(h.text, "Le Café est ouvert, le cafe aussi");
		assert.deepEqual(marked(h), ["Café", "cafe"]);
	});

	test("text stays plain: markup in a message is text, never interpreted", () => {
		const [h] = highlightsOf("<b>bold</b> & <script>x</script>", is("bold"));
		assert.equal(h.text, "<b>bold</b> & <script>x</script>");
		assert.deepEqual(marked(h), ["bold"]);
	});

	test("a long message gives up to three fragments around its matches, cut at words and marked with …", () => {
		const filler = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(" ");
		const content = `${filler(60)} needle ${filler(60)} needle ${filler(60)} needle ${filler(60)} needle end`;
		const fragments = highlightsOf(content, is("needle"));
		assert.equal(fragments.length, 3);
		for (const f of fragments) {
			assert.ok(f.text.startsWith("…") && f.text.endsWith("…"), f.text);
			assert.ok(f.text.length <= 170, `${f.text.length}`);
			assert.deepEqual(marked(f), ["needle"]);
			assert.doesNotMatch(f.text, /…word\d*[^\d ]/, "starts at a word");
		}
	});

	test("without a marked word: the start of the message", () => {
		const content = "x".repeat(20) + " " + "y ".repeat(300);
		const fragments = highlightsOf(content, () => false);
		assert.equal(fragments.length, 1);
		assert.ok(fragments[0].text.startsWith("xxxx"));
		assert.deepEqual(fragments[0].ranges, []);
	});
});

describe("query terms and cursors", () => {
	test("words only, normalized, distinct, at most ten", () => {
		assert.deepEqual(queryTerms('  "Hello"  wörld -HELLO ** '), ["hello", "world"]);
		assert.deepEqual(queryTerms("!!! ..."), []);
		assert.equal(queryTerms(Array.from({ length: 20 }, (_, i) => `w${i}`).join(" ")).length, 10);
	});

	test("a cursor belongs to its search and names a position within the offered results", () => {
		const key = { terms: ["a"], groupId: "g" };
		const next = cursorAt(key, 20, true)!;
		assert.equal(offsetOf(key, next), 20);
		assert.equal(offsetOf(key, undefined), 0);
		assert.throws(() => offsetOf({ terms: ["b"], groupId: "g" }, next), /cursor/);
		assert.throws(() => offsetOf(key, "garbage"), /cursor/);
		assert.equal(cursorAt(key, 20, false), null);
		assert.equal(cursorAt(key, MAX_RESULTS, true), null);
	});
});
