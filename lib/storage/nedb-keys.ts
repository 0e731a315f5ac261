import { createRequire } from "node:module";
import { PartitionedKeys } from "./partitioned-keys.ts";
import { SortedKeys } from "./sorted-keys.ts";

/** What an index of NeDB keeps its keys in, once `useSortedKeysInNedbIndexes` has run. */
export type IndexKeys = SortedKeys | PartitionedKeys;

/** Index fields whose keys are `partition:suffix` strings, kept per partition (PartitionedKeys). */
const partitionedFields = new Set<string>();

/**
 * Indexes on `fieldName`, in any datastore, keep their keys per partition from here on (see PartitionedKeys).
 * Only a matter of speed: PartitionedKeys answers as SortedKeys does for every key.
 */
export function partitionIndexKeys(fieldName: string): void {
	partitionedFields.add(fieldName);
}

export function isPartitioned(fieldName: string): boolean {
	return partitionedFields.has(fieldName);
}

/** A new, empty keys structure for an index. */
function keysFor(index: { fieldName: string; unique: boolean }): IndexKeys {
	return isPartitioned(index.fieldName) ? new PartitionedKeys(index.unique) : new SortedKeys(index.unique);
}

let installed = false;

/**
 * From here on every index of NeDB keeps its keys in SortedKeys (or PartitionedKeys, see partitionIndexKeys):
 * its constructor and reset() assign a new, empty AVL tree to `tree`, and this accessor takes a new structure of
 * ours instead; getAll reads the documents without a node per key. Idempotent.
 */
export function useSortedKeysInNedbIndexes(): void {
	if (installed) return;
	installed = true;
	type Index = { fieldName: string; unique: boolean; keys: IndexKeys };
	const Index = createRequire(import.meta.url)("@seald-io/nedb/lib/indexes.js") as { prototype: { getAll(): object[] } };
	Object.defineProperty(Index.prototype, "tree", {
		configurable: true,
		get(this: Index) {
			return this.keys;
		},
		set(this: Index, tree: unknown) {
			this.keys = tree instanceof SortedKeys || tree instanceof PartitionedKeys ? tree : keysFor(this);
		}
	});
	Index.prototype.getAll = function (this: Index) {
		return this.keys.all();
	};
}
