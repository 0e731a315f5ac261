import type { Message } from "./messages.ts";

/** `GET /api/search`: full-text search over the messages of the conversations the caller belongs to now. */
export interface SearchRequest {
	/** Words to find (1–256 characters, at least one word); every word must match. */
	q: string;
	/** Only this conversation (the caller must belong to it). */
	groupId?: string;
	/** Only messages of this sender. */
	senderId?: string;
	/** 1–50, default 20. */
	limit?: number;
	/** `next` of the previous page of the same search. */
	cursor?: string;
}

/**
 * A fragment of a message's text with the matched words marked. `ranges` are `[start, end)` offsets (UTF-16
 * code units, as JavaScript strings count) into `text`, in order and not overlapping: render `text` as plain
 * text and wrap those ranges in `<mark>`; no markup is ever inside `text`. A fragment cut from a longer
 * message starts or ends with "…".
 */
export interface SearchHighlight {
	text: string;
	ranges: [start: number, end: number][];
}

export interface SearchHit {
	message: Message;
	groupId: string;
	/** One to three fragments of `message.content`, in text order. */
	highlights: SearchHighlight[];
}

export interface SearchResult {
	/** Best match first. */
	items: SearchHit[];
	/** Pass as `cursor` for the next page; null on the last. */
	next: string | null;
}
