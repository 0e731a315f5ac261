import { createHash } from "node:crypto";
import { invalidField } from "../../lib/errors.ts";

/**
 * Pages of a search are positions in its ranking (a text score has no stable key to continue from): the
 * cursor is the position of the next page, bound to the search it came from so that it cannot be replayed
 * on another one. Results past MAX_RESULTS are not offered.
 */

export const MAX_RESULTS = 1000;

export interface SearchKey {
	terms: string[];
	groupId?: string;
	senderId?: string;
}

function fingerprintOf(key: SearchKey): string {
	return createHash("sha256")
		.update(JSON.stringify([key.terms, key.groupId ?? null, key.senderId ?? null]))
		.digest("base64url")
		.slice(0, 12);
}

/** The cursor of the page at `offset`, or null when there is none to offer. */
export function cursorAt(key: SearchKey, offset: number, more: boolean): string | null {
	if (!more || offset >= MAX_RESULTS) return null;
	return Buffer.from(JSON.stringify({ o: offset, f: fingerprintOf(key) })).toString("base64url");
}

/** The position a cursor names (0 without one); 422 for a cursor that is not one of this search. */
export function offsetOf(key: SearchKey, cursor: string | undefined): number {
	if (cursor === undefined) return 0;
	let parsed: { o?: unknown; f?: unknown } | null = null;
	try {
		parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
	} catch {
		// not ours
	}
	const offset = parsed?.o;
	if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0 || offset >= MAX_RESULTS || parsed?.f !== fingerprintOf(key))
		throw invalidField("cursor", "The 'cursor' field is not the 'next' of this search.", "cursor");
	return offset;
}
