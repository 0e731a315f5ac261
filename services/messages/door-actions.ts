import type { ActionSchema, Context, Service, ServiceSchema } from "moleculer";
import type { Message, SystemLine } from "../../contract/messages.ts";
import { idList, idParam, limitParam, params } from "../../lib/params.ts";
import type { ConversationHead } from "./heads.ts";
import { withMentionCounts } from "./mention-counts.ts";
import type { MessagesState } from "./messages.service.ts";
import { hitsPage, sourcePage, type HitsPage, type HitsRequest, type SourcePage } from "./search-door.ts";
import { appendSystemLine as appendLine, systemLineParam } from "./system-lines.ts";

type MessagesThis = Service & MessagesState;

/** The store in pages of searchable messages, for the search service's index (search-door.ts). */
const searchSource: ActionSchema<MessagesThis> = {
	visibility: "public",
	readOnly: true,
	params: params({ after: { ...idParam, optional: true }, limit: limitParam(5000, 1000) }),
	handler(ctx: Context<{ after?: string; limit: number }>): Promise<SourcePage> {
		return sourcePage(this, ctx.params.after, ctx.params.limit);
	}
};

/** A page of search results as clients see them: ranked ids from the index, or MongoDB's text search here. */
const searchHits: ActionSchema<MessagesThis> = {
	visibility: "public",
	readOnly: true,
	params: params({
		groupIds: idList(10_000),
		senderId: { ...idParam, optional: true },
		ids: { ...idList(100), optional: true },
		terms: { type: "array", items: "string", max: 10, optional: true },
		offset: { type: "number", integer: true, min: 0, optional: true },
		limit: limitParam(100, 20),
		viewerId: { ...idParam, optional: true }
	}),
	handler(ctx: Context<HitsRequest>): Promise<HitsPage> {
		return hitsPage(this, ctx.params);
	}
};

/** Per-viewer heads for the conversation list (the groups service's read door). */
const heads: ActionSchema<MessagesThis> = {
	visibility: "public",
	readOnly: true,
	params: params({ groupIds: idList(5000), userId: idParam }),
	async handler(ctx: Context<{ groupIds: string[]; userId: string }>): Promise<ConversationHead[]> {
		const heads = await this.heads.forViewer(ctx.params.groupIds, ctx.params.userId, this.secret);
		return withMentionCounts(this.db.messages, heads, ctx.params.userId);
	}
};

/**
 * A group change as a line of the conversation's timeline (groups → messages only; no route reaches it).
 * Sharded like `send`: the node that gives the conversation's seqs gives this one too.
 */
const appendSystemLine: ActionSchema<MessagesThis> = {
	visibility: "public",
	strategy: "Shard",
	strategyOptions: { shardKey: "groupId" },
	params: params({ groupId: idParam, actorId: idParam, system: systemLineParam }),
	handler(ctx: Context<{ groupId: string; actorId: string; system: SystemLine }>): Promise<Message> {
		return appendLine(this, ctx, ctx.params.groupId, ctx.params.actorId, ctx.params.system);
	}
};

/** Members joined (they start at the conversation's current end) or left (their cursors go). */
const membersChanged: ActionSchema<MessagesThis> = {
	visibility: "public",
	params: params({ groupId: idParam, added: idList(5000), removed: idList(5000) }),
	async handler(ctx: Context<{ groupId: string; added: string[]; removed: string[] }>): Promise<void> {
		const { groupId, added, removed } = ctx.params;
		if (added.length) await this.cursors.startAt(groupId, added, await this.heads.lastSeq(groupId));
		await this.cursors.drop(groupId, removed);
	}
};

/**
 * Doors for other services only (no route reaches them): the search index's source and hits; the groups
 * service's heads, system lines and member changes. Mixed into the messages service.
 */
export const MessagesDoorActions: Partial<ServiceSchema<any, any, any>> = {
	actions: { searchSource, searchHits, heads, appendSystemLine, membersChanged }
};
