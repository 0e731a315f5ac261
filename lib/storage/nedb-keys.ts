import { createRequire } from "node:module";
import { PartitionedKeys } from "./partitioned-keys.ts";
import { SortedKeys } from "./sorted-keys.ts";

/** What an index of NeDB keeps its keys in, once `useSortedKeysInNedbIndexes` has run. */
export type IndexKeys = SortedKeys | PartitionedKeys;

/** Index fields whose keys are `partition:suffix` strings, kept per partition (PartitionedKeys). */
const partitionedFields = new Set<string>();

/**
 * Indexes on the fields of the `partitioned` ones of `indexes`, in any datastore, keep their keys per partition from
 * here on (see PartitionedKeys); before the datastore loads. Only a matter of speed: PartitionedKeys answers as
 * SortedKeys does for every key.
 */
export function partitionIndexKeys(indexes: readonly NedbIndexOptions[]): void {
	for (const index of indexes) if (index.partitioned) partitionedFields.add(index.fieldName);
}

export function isPartitioned(fieldName: string): boolean {
	return partitionedFields.has(fieldName);
}

/** A new, empty keys structure for an index. */
function keysFor(index: { fieldName: string; unique: boolean }): IndexKeys {
	return isPartitioned(index.fieldName) ? new PartitionedKeys(index.unique) : new SortedKeys(index.unique);
}

/** NeDB's options for an index (`ensureIndex`), and whether its keys are kept per partition. */
export interface NedbIndexOptions {
	fieldName: string;
	unique: boolean;
	sparse: boolean;
	partitioned: boolean;
}

/** What NeDB makes of a collection's index specs (IndexSpec): one field each, a compound one its first; no text index. */
export function nedbIndexesOf(
	specs: readonly { fields: Record<string, unknown>; unique?: boolean; sparse?: boolean; partitioned?: boolean }[]
): NedbIndexOptions[] {
	return specs
		.filter(spec => !Object.values(spec.fields).includes("text"))
		.map(spec => ({ fieldName: Object.keys(spec.fields)[0], unique: !!spec.unique, sparse: !!spec.sparse, partitioned: !!spec.partitioned }));
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
