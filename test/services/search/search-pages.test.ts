import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Message } from "../../../contract/messages.ts";
import type { SearchEngine } from "../../../services/search/engines.ts";
import { searchMessages } from "../../../services/search/search.ts";
import { MAX_RESULTS } from "../../../services/search/cursor.ts";

/** An engine over `count` ranked hits, answering pages as the real ones do (more = anything after the page). */
function rankedEngine(count: number): SearchEngine {
	return {
		async page(_ctx, _terms, _scope, offset, limit) {
			const ids = Array.from({ length: Math.max(0, Math.min(limit, count - offset)) }, (_, i) => offset + i);
			return {
				hits: ids.map(i => ({ message: { id: String(i), groupId: "g", content: "quokka" } as Message, matches: () => true })),
				more: offset + limit < count
			};
		}
	};
}

describe("search pages", () => {
	const ctx = (limit: number, cursor?: string) => ({ params: { q: "quokka", limit, cursor }, meta: { user: { id: "u" } }, call: async () => ["g"] }) as never;

	test(`at most ${MAX_RESULTS} results are offered, however the limit changes from page to page`, async () => {
		const engine = rankedEngine(MAX_RESULTS + 25);
		for (const limits of [[10, 50], [1, 50], [50], [7, 100]]) {
			const seen = new Set<string>();
			let page = await searchMessages(engine, ctx(limits[0]));
			for (;;) {
				for (const hit of page.items) seen.add(hit.message.id);
				if (!page.next) break;
				page = await searchMessages(engine, ctx(limits[1] ?? limits[0], page.next));
			}
			assert.equal(seen.size, MAX_RESULTS, `limits ${limits.join(" then ")}`);
		}
	});
});
