import type { SearchHit, SearchRequest, SearchResult } from "../../contract/search.ts";
import { invalidField, notFound } from "../../lib/errors.ts";
import type { UserContext } from "../../lib/session.ts";
import { cursorAt, MAX_RESULTS, offsetOf, type SearchKey } from "./cursor.ts";
import type { SearchEngine } from "./engines.ts";
import { highlightsOf } from "./highlights.ts";
import { queryTerms } from "./terms.ts";

/**
 * One search as the caller may see it: over the conversations they belong to at this moment (asked of the
 * groups service on every search, so leaving a conversation ends its results at once), ranked by `engine`.
 */
export async function searchMessages(engine: SearchEngine, ctx: UserContext<SearchRequest & { limit: number }>): Promise<SearchResult> {
	const { q, groupId, senderId, limit, cursor } = ctx.params;
	const terms = queryTerms(q);
	if (terms.length === 0) throw invalidField("q", "The 'q' field must contain at least one word.", "words");
	const key: SearchKey = { terms, groupId, senderId };
	const offset = offsetOf(key, cursor);
	const mine = await ctx.call<string[], { userId: string }>("groups.idsForUser", { userId: ctx.meta.user.id });
	if (groupId && !mine.includes(groupId)) throw notFound("Conversation");
	const groupIds = new Set(groupId ? [groupId] : mine);
	if (groupIds.size === 0) return { items: [], next: null };
	// However the limit changes from page to page, nothing past MAX_RESULTS is offered.
	const size = Math.min(limit, MAX_RESULTS - offset);
	const page = await engine.page(ctx, terms, { groupIds, senderId }, offset, size);
	const items: SearchHit[] = page.hits.map(({ message, matches }) => ({
		message,
		groupId: message.groupId,
		highlights: highlightsOf(message.content, matches)
	}));
	return { items, next: cursorAt(key, offset + size, page.more) };
}
