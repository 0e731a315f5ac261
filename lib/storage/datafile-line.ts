import { createRequire } from "node:module";

const nedbModel = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as { serialize(doc: object): string };

/** The line a NeDB datafile holds for `doc` (a document, a `$$deleted` or an `$$indexCreated` marker), without its newline. */
export function datafileLine(persistence: { afterSerialization(line: string): string }, doc: object): string {
	return persistence.afterSerialization(nedbModel.serialize(doc));
}
