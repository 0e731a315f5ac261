import { createRequire } from "node:module";

const nedbModel = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as { serialize(doc: object): string };

/** The line a NeDB datafile holds for `doc` (a document, a `$$deleted` or an `$$indexCreated` marker), without its newline. */
export function datafileLine(persistence: { afterSerialization(line: string): string }, doc: object): string {
	return persistence.afterSerialization(serializeDocument(doc));
}

/**
 * NeDB's `model.serialize`, the same text: Dates as `{"$$date": ms}`. NeDB's runs a replacer function for every
 * value (checking each key, which insert and update already did); here one walk finds the Dates, a copy holds
 * them converted (only where there are any) and the native JSON.stringify writes the line, a few times faster.
 */
export function serializeDocument(doc: object): string {
	return JSON.stringify(withStoredDates(doc));
}

/** `value` itself when nothing within it has a getTime method (what NeDB takes for a Date), else a copy with those converted. */
function withStoredDates(value: unknown): unknown {
	if (typeof value !== "object" || value === null) return value;
	if (typeof (value as { getTime?: unknown }).getTime === "function") return { $$date: (value as Date).getTime() };
	if (Array.isArray(value)) {
		let copy: unknown[] | null = null;
		for (let i = 0; i < value.length; i++) {
			const item = value[i];
			const stored = withStoredDates(item);
			if (stored !== item) copy ??= value.slice();
			if (copy) copy[i] = stored;
		}
		return copy ?? value;
	}
	// toJSON would run before NeDB's replacer could see the object: leave such an object to NeDB.
	if (typeof (value as { toJSON?: unknown }).toJSON === "function") return JSON.parse(nedbModel.serialize(value));
	let copy: Record<string, unknown> | null = null;
	for (const key in value) {
		if (!Object.hasOwn(value, key)) continue;
		const item = (value as Record<string, unknown>)[key];
		const stored = withStoredDates(item);
		if (stored !== item) copy ??= { ...(value as Record<string, unknown>) };
		if (copy) copy[key] = stored;
	}
	return copy ?? value;
}
