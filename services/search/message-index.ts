import MiniSearch, { type SearchResult } from "minisearch";
import type { EventMessage } from "../../contract/messages.ts";
import { normalizeTerm, termsOf } from "./terms.ts";

/** A message as the index sees it: its words and the facts a search filters and orders by. */
export interface IndexEntry {
	id: string;
	groupId: string;
	senderId: string;
	content: string;
	version: number;
	/** ms since the epoch: equal scores rank the newer message first. */
	createdAt: number;
	/** False for deleted messages, system lines and messages without text: they leave (or never enter) the index. */
	searchable: boolean;
}

type Announced = Pick<EventMessage, "id" | "groupId" | "senderId" | "content" | "version" | "createdAt" | "deletedAt"> & { system?: unknown };

/** The entry of a message as its events (and the store) describe it. */
export function entryOf(message: Announced): IndexEntry {
	return {
		id: message.id,
		groupId: message.groupId,
		senderId: message.senderId,
		content: message.content,
		version: message.version,
		createdAt: Date.parse(message.createdAt),
		searchable: !message.deletedAt && !message.system && message.content.trim() !== ""
	};
}

export interface SearchScope {
	/** Conversations the caller belongs to (or the one asked for). */
	groupIds: ReadonlySet<string>;
	senderId?: string;
}

export interface IndexHit {
	id: string;
	groupId: string;
	score: number;
	/** The indexed terms that matched (prefix expansions included): what the highlighter marks. */
	terms: string[];
}

/** Query words at least this long also match longer words they begin ("deploy" finds "deployment"). */
export const MIN_PREFIX_LENGTH = 3;

interface Stored {
	g: string;
	u: string;
	v: number;
	t: number;
}

/**
 * The embedded full-text index of messages (MiniSearch, BM25 ranking), kept by the message events: every
 * word must match, longer words by prefix. Changes are queued and applied in batches off the caller's path
 * (a search applies what is queued first, so it sees every change announced before it). During a rebuild
 * from the store, changes wait, and a stored copy older than a change that arrived meanwhile is skipped.
 */
export class MessageIndex {
	private readonly mini = new MiniSearch<IndexEntry>({
		idField: "id",
		fields: ["content"],
		storeFields: ["g", "u", "v", "t"],
		extractField: (entry, field) => {
			switch (field) {
				case "g":
					return this.intern(entry.groupId);
				case "u":
					return this.intern(entry.senderId);
				case "v":
					return entry.version as never;
				case "t":
					return entry.createdAt as never;
				default:
					return (entry as unknown as Record<string, string>)[field];
			}
		},
		tokenize: termsOf,
		processTerm: term => term,
		searchOptions: { tokenize: termsOf, processTerm: normalizeTerm }
	});
	/** One copy of each conversation and sender id, shared by every entry. */
	private readonly strings = new Map<string, string>();
	private queue: IndexEntry[] = [];
	private flushScheduled = false;
	/** Changes that arrived during a rebuild, latest version per message. */
	private pending: Map<string, IndexEntry> | null = null;

	get size(): number {
		return this.mini.documentCount;
	}

	get rebuilding(): boolean {
		return this.pending !== null;
	}

	/** A change announced by the messages service; applied soon, in a batch. */
	enqueue(entry: IndexEntry): void {
		this.queue.push(entry);
		if (this.flushScheduled) return;
		this.flushScheduled = true;
		setImmediate(() => this.flush());
	}

	flush(): void {
		this.flushScheduled = false;
		const batch = this.queue;
		this.queue = [];
		for (const entry of batch) {
			if (!this.pending) {
				this.upsert(entry);
				continue;
			}
			const waiting = this.pending.get(entry.id);
			if (!waiting || waiting.version < entry.version) this.pending.set(entry.id, entry);
		}
	}

	/** Starts over from the store: everything indexed goes; changes wait until endRebuild. */
	beginRebuild(): void {
		this.flush();
		this.pending = new Map();
		this.mini.removeAll();
	}

	/** Entries read from the store (searchable ones), skipped where a newer change already arrived. */
	addStored(entries: IndexEntry[]): void {
		for (const entry of entries) {
			const waiting = this.pending?.get(entry.id);
			if (!waiting || waiting.version < entry.version) this.upsert(entry);
		}
	}

	endRebuild(): void {
		this.flush();
		const waiting = this.pending;
		this.pending = null;
		for (const entry of waiting?.values() ?? []) this.upsert(entry);
	}

	/** Ranked matches of all `terms` in scope: best score first, the newer message first among equals. */
	search(terms: string[], scope: SearchScope): IndexHit[] {
		this.flush();
		if (terms.length === 0 || scope.groupIds.size === 0) return [];
		const { groupIds, senderId } = scope;
		// A boost of 0 drops a message before it is scored, so a search costs a look at each posting of its
		// terms but scores and ranks only the caller's messages (a filter would run after scoring them all).
		const inScope = (_id: unknown, _term: string, stored?: Record<string, unknown>) => {
			const { g, u } = stored as unknown as Stored;
			return groupIds.has(g) && (senderId === undefined || u === senderId) ? 1 : 0;
		};
		const results = this.mini.search(terms.join(" "), {
			combineWith: "AND",
			prefix: term => term.length >= MIN_PREFIX_LENGTH,
			boostDocument: inScope
		}) as (SearchResult & Stored)[];
		results.sort((a, b) => b.score - a.score || b.t - a.t);
		return results.map(r => ({ id: r.id as string, groupId: r.g, score: r.score, terms: r.terms }));
	}

	private upsert(entry: IndexEntry): void {
		const stored = this.mini.getStoredFields(entry.id) as Stored | undefined;
		if (stored && stored.v >= entry.version) return;
		if (stored) this.mini.discard(entry.id);
		if (entry.searchable) this.mini.add(entry);
	}

	private intern(id: string): string {
		let shared = this.strings.get(id);
		if (shared === undefined) {
			shared = id;
			this.strings.set(id, id);
		}
		return shared;
	}
}
