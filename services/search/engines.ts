import type { Context } from "moleculer";
import type { Message } from "../../contract/messages.ts";
import type { HitsPage, HitsRequest } from "../messages/search-door.ts";
import type { SessionMeta } from "../../lib/session.ts";
import type { MessageIndex, SearchScope } from "./message-index.ts";

/** A page of ranked results, each with what its highlighter marks. */
export interface EnginePage {
	hits: { message: Message; matches: (term: string) => boolean }[];
	more: boolean;
}

export interface SearchEngine {
	page(ctx: Context, terms: string[], scope: SearchScope, offset: number, limit: number): Promise<EnginePage>;
}

/** The page's messages as the searching user sees them (their own reactions marked). */
const hitsOf = (ctx: Context, request: HitsRequest) =>
	ctx.call<HitsPage, HitsRequest>("messages.searchHits", { ...request, viewerId: (ctx.meta as SessionMeta).user?.id });

/** Embedded mode: this node's index ranks, the messages service gives the page's messages as they are now. */
export function indexEngine(index: MessageIndex, ready: () => Promise<void>): SearchEngine {
	return {
		async page(ctx, terms, scope, offset, limit) {
			await ready();
			const ranked = index.search(terms, scope);
			const page = ranked.slice(offset, offset + limit);
			const matched = new Map(page.map(hit => [hit.id, new Set(hit.terms)]));
			const { messages } = await hitsOf(ctx, { groupIds: [...scope.groupIds], senderId: scope.senderId, ids: page.map(hit => hit.id) });
			return {
				hits: messages.map(message => ({ message, matches: term => matched.get(message.id)?.has(term) ?? false })),
				more: offset + limit < ranked.length
			};
		}
	};
}

/** Cluster mode: MongoDB's text index ranks, through the messages service, so every node sees the same results. */
export function mongoTextEngine(): SearchEngine {
	return {
		async page(ctx, terms, scope, offset, limit) {
			const wanted = new Set(terms);
			const { messages, more } = await hitsOf(ctx, { groupIds: [...scope.groupIds], senderId: scope.senderId, terms, offset, limit });
			return { hits: messages.map(message => ({ message, matches: term => wanted.has(term) })), more };
		}
	};
}
