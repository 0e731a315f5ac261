import { invalidField } from "../../lib/errors.ts";

/** Where a conversation stands in the list: newest activity first, ties by id (descending). */
export interface ListPosition {
	id: string;
	/** Milliseconds since the epoch of the last message, or of the creation when nothing was sent yet. */
	activityAt: number;
}

/** Newest activity first; the id breaks ties so that the order is total and a cursor is exact. */
export function byActivity(a: ListPosition, b: ListPosition): number {
	return b.activityAt - a.activityAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** Opaque to clients: base64url of "activityAt:id" of the last conversation of the page. */
export function encodeCursor(position: ListPosition): string {
	return Buffer.from(`${position.activityAt}:${position.id}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): ListPosition {
	const match = /^(\d{1,16}):([a-f0-9]{24})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
	if (!match) throw invalidField("cursor", "The 'cursor' field must be a 'next' value from a previous page.");
	return { activityAt: Number(match[1]), id: match[2] };
}

/**
 * One page of the list: the `limit` conversations after `cursor` in activity order, and the cursor of the
 * next page (null on the last). A keyset cursor, so pages never repeat a conversation nor skip one
 * whose activity did not change; one that moves up meanwhile lands before the cursor (the client hears
 * of it live, over the socket).
 */
export function pageOf<T extends ListPosition>(positions: T[], limit: number, cursor: ListPosition | null): { page: T[]; next: string | null } {
	const sorted = [...positions].sort(byActivity);
	const rest = cursor ? sorted.filter(p => byActivity(p, cursor) > 0) : sorted;
	const page = rest.slice(0, limit);
	return { page, next: rest.length > limit ? encodeCursor(page[page.length - 1]) : null };
}
