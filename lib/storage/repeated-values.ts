/** Values of one field seen so far, or null once the field proved to hold mostly distinct values. */
interface FieldValues {
	values: Map<string, string> | null;
	seen: number;
}

/** Below this many values a field is not judged yet. */
const JUDGED_FROM = 1024;

/**
 * An empty array for every document's empty array field (a message without attachments): 32 bytes each
 * otherwise. Frozen, as NeDB never changes a document it holds in place (an update replaces it by a modified
 * deep copy, an answer is a deep copy), so that a change in place would throw instead of reaching them all.
 */
const EMPTY: never[] = Object.freeze([]) as never[];

/**
 * Values repeated across the documents of a load held once, for top-level fields: JSON.parse makes a new string
 * for every value, so a conversation id or sender id held by a million messages is a million strings of 40
 * bytes or more. A string field whose values are mostly distinct (ids, texts) is dropped once seen often
 * enough, so it costs a lookup only for its first values. Documents keep their shape and values.
 */
export class RepeatedValues {
	private readonly fields = new Map<string, FieldValues>();

	shareIn<T extends Record<string, unknown>>(doc: T): T {
		for (const field in doc) {
			const value = doc[field];
			if (typeof value !== "string") {
				if (Array.isArray(value) && value.length === 0) (doc as Record<string, unknown>)[field] = EMPTY;
				continue;
			}
			let known = this.fields.get(field);
			if (known === undefined) this.fields.set(field, (known = { values: new Map(), seen: 0 }));
			const values = known.values;
			if (values === null) continue;
			const seen = ++known.seen;
			const shared = values.get(value);
			if (shared !== undefined) (doc as Record<string, unknown>)[field] = shared;
			else values.set(value, value);
			// Judged at each power of two: distinct values for more than half of them is not worth a map.
			if (seen >= JUDGED_FROM && (seen & (seen - 1)) === 0 && values.size * 2 > seen) known.values = null;
		}
		return doc;
	}
}
