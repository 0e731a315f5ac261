import type { EventMessage, Message } from "../../contract/messages.ts";
import type { IndexSpec } from "../../mixins/db.mixin.ts";
import type { MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { viewsOf } from "./views.ts";

/**
 * The search service's door to the messages: the store read in pages (to build the embedded index at start)
 * and the messages of a page of results, as the caller sees them. In cluster mode (MongoDB) the search
 * itself runs here, on the collection's text index, so every node answers from the same data.
 */

/** MongoDB's text index on the message text (NeDB skips it). No stemming or stop words: chats mix languages. */
export const TEXT_INDEX: IndexSpec = { fields: { content: "text" }, mongo: { name: "content_text", default_language: "none" } };

/** What the index needs of a stored message. */
export type SourceMessage = Pick<EventMessage, "id" | "groupId" | "senderId" | "content" | "version" | "createdAt" | "deletedAt">;

export interface SourcePage {
	/** Searchable messages of the page: not deleted, not system lines, with text. */
	messages: SourceMessage[];
	/** Pass as `after` for the next page; null after the last. */
	last: string | null;
}

export async function sourcePage(svc: Pick<MessagesState, "db">, after: string | undefined, limit: number): Promise<SourcePage> {
	const docs = await svc.db.messages.pageById({ deletedAt: null }, after, limit);
	const messages = docs
		.filter(doc => searchable(doc))
		.map(doc => ({
			id: doc._id,
			groupId: doc.groupId,
			senderId: doc.senderId,
			content: doc.content,
			version: doc.version ?? doc.seq,
			createdAt: new Date(doc.createdAt).toISOString(),
			deletedAt: null
		}));
	return { messages, last: docs.length === limit ? docs[docs.length - 1]._id : null };
}

export interface HitsRequest {
	groupIds: string[];
	senderId?: string;
	/** Ranked ids from the embedded index… */
	ids?: string[];
	/** …or the query's terms, searched here on MongoDB's text index. */
	terms?: string[];
	offset?: number;
	limit?: number;
	/** Whose view: their own reactions are marked `me`. */
	viewerId?: string;
}

export interface HitsPage {
	/** In rank order. */
	messages: Message[];
	/** Only for `terms`: more results follow. */
	more: boolean;
}

export async function hitsPage(svc: Pick<MessagesState, "db" | "cursors" | "secret">, request: HitsRequest): Promise<HitsPage> {
	const groups = new Set(request.groupIds);
	const inScope = (doc: MessageDoc) => groups.has(doc.groupId) && (request.senderId === undefined || doc.senderId === request.senderId) && searchable(doc);
	let docs: MessageDoc[];
	let more = false;
	if (request.terms) {
		const limit = request.limit ?? 20;
		const query = { groupId: { $in: request.groupIds }, deletedAt: null, system: null, ...(request.senderId ? { senderId: request.senderId } : {}) };
		// Quoted, every word must match (unquoted words would be alternatives); terms are letters and digits only.
		const search = request.terms.map(t => `"${t}"`).join(" ");
		docs = (await svc.db.messages.searchText(search, query, { offset: request.offset ?? 0, limit: limit + 1 })).filter(inScope);
		more = docs.length > limit;
		docs = docs.slice(0, limit);
	} else {
		const found = new Map((await svc.db.messages.findByIds(request.ids ?? [])).map(doc => [doc._id, doc]));
		docs = (request.ids ?? []).map(id => found.get(id)).filter((doc): doc is MessageDoc => !!doc && inScope(doc));
	}
	return { messages: await inRankOrder(svc, docs, request.viewerId), more };
}

function searchable(doc: MessageDoc): boolean {
	return !doc.deletedAt && !doc.system && doc.content.trim() !== "";
}

/** Views are built per conversation (its receipts); the results keep their rank. */
async function inRankOrder(svc: Pick<MessagesState, "db" | "cursors" | "secret">, docs: MessageDoc[], viewerId?: string): Promise<Message[]> {
	const byGroup = new Map<string, MessageDoc[]>();
	for (const doc of docs) byGroup.set(doc.groupId, [...(byGroup.get(doc.groupId) ?? []), doc]);
	const views = new Map<string, Message>();
	for (const [groupId, group] of byGroup) for (const view of await viewsOf(svc, group, groupId, viewerId)) views.set(view.id, view);
	return docs.map(doc => views.get(doc._id)!);
}
