import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const nedbModel = require("@seald-io/nedb/lib/model.js") as { deserialize(line: string): unknown };

/** NeDB's datastore class, the one moleculer-db's adapter uses. */
export const Datastore = require("@seald-io/nedb") as new (options: { filename: string; autoload: false }) => NedbLoadable;

export interface NedbLoadable {
	persistence: { persistCachedDatabaseAsync(): Promise<void> };
}

/** `{"$$date": ms}` objects back to Dates, in place. */
function revive(value: unknown): unknown {
	if (typeof value !== "object" || value === null) return value;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
		return value;
	}
	const object = value as Record<string, unknown>;
	if (typeof object.$$date === "number" && Object.keys(object).length === 1) return new Date(object.$$date);
	for (const key in object) object[key] = revive(object[key]);
	return value;
}

/**
 * Reading a datafile, NeDB parses each line with a JSON.parse reviver that runs for every value; a third of a
 * start with a million messages. A plain JSON.parse and one walk that turns `{"$$date": ms}` back into Dates
 * reads the same documents (lines with dates only are walked).
 */
export function useFastDeserialize(): void {
	nedbModel.deserialize = line => (line.includes('"$$date"') ? revive(JSON.parse(line)) : JSON.parse(line));
}

/**
 * A datastore whose load does not rewrite the whole datafile straight away (NeDB compacts on every load: a
 * second copy of every document serialized, and the file written again, before the service can start). The
 * file as it is loads to the same documents; the periodic compaction rewrites it later, off the start.
 */
export function datastoreWithoutLoadRewrite(filename: string): NedbLoadable {
	const db = new Datastore({ filename, autoload: false });
	const persistence = db.persistence;
	const rewrite = persistence.persistCachedDatabaseAsync;
	persistence.persistCachedDatabaseAsync = async () => {
		persistence.persistCachedDatabaseAsync = rewrite;
	};
	return db;
}
