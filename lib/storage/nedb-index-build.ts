import { createRequire } from "node:module";
import { isPartitioned, type IndexKeys } from "./nedb-keys.ts";
import { PartitionedKeys, partitionOf } from "./partitioned-keys.ts";
import { SortedKeys } from "./sorted-keys.ts";

const require = createRequire(import.meta.url);
const nedbModel = require("@seald-io/nedb/lib/model.js") as {
	compareThings(a: unknown, b: unknown): number;
	getDotValue(doc: unknown, field: string): unknown;
};

/** One of a datastore's `indexes` (@seald-io/nedb/lib/indexes.js), its keys in SortedKeys or PartitionedKeys (`useSortedKeysInNedbIndexes`). */
export interface NedbIndex {
	fieldName: string;
	unique: boolean;
	sparse: boolean;
	tree: IndexKeys;
	/** NeDB's own fill: one insert per key, rolled back and thrown at the first unique violation. */
	reset(docs?: object[]): void;
}

type Key = string | number | boolean | null | undefined;

/**
 * The documents under each key of `index` in `docs`, or null where NeDB's own insert must decide: a unique key
 * met twice (NeDB throws, naming the key it met first), a key that is a Date, array or object (NeDB compares
 * those deeply, a Map by identity) or NaN (equal to every number for compareThings). For the other primitives a
 * Map's keys are equal where compareThings says so (0 and -0 are one key for both).
 */
function documentsByKey(index: NedbIndex, docs: object[]): { byKey: Map<Key, object | object[]>; onlyStrings: boolean } | null {
	// A unique index holds each document itself, any other an array of them.
	const byKey = new Map<Key, object | object[]>();
	const { fieldName, unique, sparse } = index;
	const dotted = fieldName.includes(".");
	let onlyStrings = true;
	const add = (key: unknown, doc: object): boolean => {
		if ((typeof key === "object" && key !== null) || key !== key) return false;
		if (typeof key !== "string") onlyStrings = false;
		const under = byKey.get(key as Key);
		if (under === undefined) byKey.set(key as Key, unique ? doc : [doc]);
		else if (unique) return false;
		else (under as object[]).push(doc);
		return true;
	};
	for (let i = 0; i < docs.length; i++) {
		const doc = docs[i];
		const key = dotted ? nedbModel.getDotValue(doc, fieldName) : (doc as Record<string, unknown>)[fieldName];
		if (key === undefined && sparse) continue;
		if (!Array.isArray(key)) {
			if (!add(key, doc)) return null;
			continue;
		}
		// An array indexes each distinct element (NeDB's uniq), once per document.
		for (let k = 0; k < key.length; k++) {
			if (key.indexOf(key[k]) < k) continue;
			if (!add(key[k], doc)) return null;
		}
	}
	return { byKey, onlyStrings };
}

/** What a load already holds that the indexes it fills can use. */
export interface LoadedDocuments {
	/** The documents by `_id`, where every `_id` is a string. */
	byId?: Map<string, object>;
}

/**
 * Fills a new (empty) index of NeDB with `docs`, as its own `reset(docs)` would, but in bulk: the keys sorted
 * once and the index's keys made straight from them, instead of one insert per document. Where NeDB's insert
 * must decide (a unique violation, non-primitive keys), it does.
 */
export function fillIndex(index: NedbIndex, docs: object[], loaded: LoadedDocuments = {}): void {
	const grouped = loaded.byId && index.fieldName === "_id" && index.unique ? { byKey: loaded.byId, onlyStrings: true } : documentsByKey(index, docs);
	if (!grouped) {
		index.reset(docs);
		return;
	}
	const found = grouped.byKey as Map<Key, object | object[]>;
	const partitioned = isPartitioned(index.fieldName);
	if (grouped.onlyStrings && partitioned) {
		// Each partition sorted on its own: no sort of all the keys, which most of a partitioned index's build was.
		const byPartition = new Map<string | undefined, string[]>();
		for (const key of found.keys() as Iterable<string>) {
			const name = partitionOf(key);
			const held = byPartition.get(name);
			if (held) held.push(key);
			else byPartition.set(name, [key]);
		}
		index.tree = PartitionedKeys.fromPartitions(
			index.unique,
			[...byPartition].map(([name, keys]) => [
				name,
				SortedKeys.fromSorted(
					index.unique,
					keys.sort(),
					keys.map(key => found.get(key))
				)
			])
		);
		return;
	}
	let keys = [...found.keys()];
	// Without a comparator, sort orders strings by UTF-16 code units, as compareThings does, and much faster.
	if (grouped.onlyStrings) keys.sort();
	else {
		// sort() puts undefined last whatever the comparator says; compareThings puts it first.
		keys = keys.filter(key => key !== undefined).sort(nedbModel.compareThings);
		if (found.has(undefined)) keys.unshift(undefined);
	}
	const values = keys.map(key => found.get(key));
	index.tree = partitioned ? PartitionedKeys.fromSorted(index.unique, keys, values) : SortedKeys.fromSorted(index.unique, keys, values);
}
