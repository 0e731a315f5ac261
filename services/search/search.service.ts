import type { Context, Service, ServiceSchema } from "moleculer";
import type { Message } from "../../contract/messages.ts";
import type { SearchRequest, SearchResult } from "../../contract/search.ts";
import { chatConfig } from "../../lib/config.ts";
import { idParam, limitParam, params } from "../../lib/params.ts";
import type { UserContext } from "../../lib/session.ts";
import { indexEngine, mongoTextEngine, type SearchEngine } from "./engines.ts";
import { MessageIndex, entryOf } from "./message-index.ts";
import { rebuildIndex } from "./rebuild.ts";
import { searchMessages } from "./search.ts";

export interface SearchState {
	engine: SearchEngine;
	/** Embedded mode only: the in-process index, kept by the message events. */
	index: MessageIndex | null;
	/** Settles once the index holds the store (rebuilt at start). */
	indexReady: Promise<void>;
	stopping: AbortController;
}

type SearchThis = Service & SearchState;

/** `q`: up to 256 characters; what counts are its words (at most 10). */
const MAX_QUERY_LENGTH = 256;

function indexChange(this: SearchThis, ctx: Context<{ groupId: string; message: Message }>): void {
	this.index?.enqueue(entryOf(ctx.params.message));
}

/**
 * Full-text search over the messages of the caller's conversations. Embedded (NeDB): a MiniSearch index in
 * this process, rebuilt from the store at start and kept by the message events. Cluster (MongoDB): the
 * messages collection's text index, queried through `messages.searchHits`, so every node agrees.
 */
const SearchService: ServiceSchema<{}, {}, SearchState> = {
	name: "search",

	actions: {
		/** Ranked, highlighted, paged results (see docs/API.md, "Search"). */
		query: {
			auth: "required",
			readOnly: true,
			rateLimit: { bucket: "search" },
			params: params({
				q: { type: "string", trim: true, min: 1, max: MAX_QUERY_LENGTH },
				groupId: { ...idParam, optional: true },
				senderId: { ...idParam, optional: true },
				limit: limitParam(50, 20),
				cursor: { type: "string", max: 200, optional: true }
			}),
			handler(this: SearchThis, ctx: UserContext<SearchRequest & { limit: number }>): Promise<SearchResult> {
				return searchMessages(this.engine, ctx);
			}
		}
	},

	events: {
		"message.created": indexChange,
		"message.updated": indexChange,
		"message.deleted": indexChange
	},

	started(this: SearchThis) {
		this.stopping = new AbortController();
		if (chatConfig(this.broker).storage.kind === "mongo") {
			this.index = null;
			this.indexReady = Promise.resolve();
			this.engine = mongoTextEngine();
			return;
		}
		const index = new MessageIndex();
		this.index = index;
		// In the background: the node is up at once, searches wait for the index.
		this.indexReady = rebuildIndex(this.broker, index, this.logger, this.stopping.signal);
		this.engine = indexEngine(index, () => this.indexReady);
	},

	stopped(this: SearchThis) {
		this.stopping?.abort();
	}
};

export default SearchService;
