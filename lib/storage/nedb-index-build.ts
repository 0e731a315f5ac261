import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const nedbModel = require("@seald-io/nedb/lib/model.js") as {
	compareThings(a: unknown, b: unknown): number;
	getDotValue(doc: unknown, field: string): unknown;
};

/** A tree node of NeDB's indexes (@seald-io/binary-search-tree's AVL tree). */
interface TreeNode {
	left: TreeNode | null;
	right: TreeNode | null;
	parent: TreeNode | null;
	key: unknown;
	data: object[];
	height?: number;
}

/** One of a datastore's `indexes` (@seald-io/nedb/lib/indexes.js). */
export interface NedbIndex {
	fieldName: string;
	unique: boolean;
	sparse: boolean;
	tree: { tree: TreeNode & { executeOnEveryNode(fn: (node: TreeNode) => void): void } };
	treeOptions: object;
	/** NeDB's own fill: one AVL insert per key, rolled back and thrown at the first unique violation. */
	reset(docs?: object[]): void;
}

type Key = string | number | boolean | null | undefined;

/**
 * The documents under each key of `index` in `docs`, or null where NeDB's own insert must decide: a unique key
 * met twice (NeDB throws, naming the key it met first), a key that is a Date, array or object (NeDB compares
 * those deeply, a Map by identity) or NaN (equal to every number for compareThings). For the other primitives a
 * Map's keys are equal where compareThings says so (0 and -0 are one key for both).
 */
function documentsByKey(index: NedbIndex, docs: object[], alone?: object[][]): { byKey: Map<Key, object[]>; onlyStrings: boolean } | null {
	const byKey = new Map<Key, object[]>();
	const { fieldName, unique, sparse } = index;
	const dotted = fieldName.includes(".");
	let onlyStrings = true;
	const add = (key: unknown, doc: object, i: number): boolean => {
		if ((typeof key === "object" && key !== null) || key !== key) return false;
		if (typeof key !== "string") onlyStrings = false;
		const under = byKey.get(key as Key);
		if (under === undefined) byKey.set(key as Key, unique && alone ? alone[i] : [doc]);
		else if (unique) return false;
		else under.push(doc);
		return true;
	};
	for (let i = 0; i < docs.length; i++) {
		const doc = docs[i];
		const key = dotted ? nedbModel.getDotValue(doc, fieldName) : (doc as Record<string, unknown>)[fieldName];
		if (key === undefined && sparse) continue;
		if (!Array.isArray(key)) {
			if (!add(key, doc, i)) return null;
			continue;
		}
		// An array indexes each distinct element (NeDB's uniq), once per document.
		for (let k = 0; k < key.length; k++) {
			if (key.indexOf(key[k]) < k) continue;
			if (!add(key[k], doc, i)) return null;
		}
	}
	return { byKey, onlyStrings };
}

type NodeOptions = { unique: boolean; compareKeys: unknown; checkValueEquality: unknown };

type BulkNode = new (parent: TreeNode | null, key: unknown, data: object[]) => TreeNode;

/** One node class per set of tree options, so that the trees' methods meet few node shapes. */
const nodeClasses: { options: NodeOptions; prototype: object; Node: BulkNode }[] = [];

/**
 * Tree nodes that the tree's own methods take for theirs: the tree's prototype under the options every node of
 * a tree repeats (unique, compareKeys, checkValueEquality), held once on a prototype instead of 24 bytes a
 * node; a node NeDB adds later is made by its own constructor, with its own copies.
 */
function nodeClass(empty: object, options: NodeOptions): BulkNode {
	const prototype = Object.getPrototypeOf(empty);
	const known = nodeClasses.find(
		c =>
			c.prototype === prototype &&
			c.options.unique === options.unique &&
			c.options.compareKeys === options.compareKeys &&
			c.options.checkValueEquality === options.checkValueEquality
	);
	if (known) return known.Node;
	function Node(this: TreeNode, parent: TreeNode | null, key: unknown, data: object[]) {
		this.left = null;
		this.right = null;
		this.parent = parent;
		this.key = key;
		this.data = data;
		this.height = 1;
	}
	Node.prototype = Object.create(prototype, {
		unique: { value: !!options.unique, writable: true },
		compareKeys: { value: options.compareKeys, writable: true },
		checkValueEquality: { value: options.checkValueEquality, writable: true }
	});
	nodeClasses.push({ options, prototype, Node: Node as unknown as BulkNode });
	return Node as unknown as BulkNode;
}

/** What a load already holds that the indexes it fills can use. */
export interface LoadedDocuments {
	/** The documents by `_id` (each in an array of its own, as `alone`), where every `_id` is a string. */
	byId?: Map<string, object[]>;
	/** For each document, an array holding only it: the node data of every unique index (they never add to it). */
	alone?: object[][];
}

/**
 * Fills a new (empty) index of NeDB with `docs`, as its own `reset(docs)` would, but in bulk: the keys sorted
 * once and the balanced tree built straight from them, each node with its height, instead of one AVL insert
 * (and its rebalancing) per document. Where NeDB's insert must decide (a unique violation, non-primitive keys),
 * it does.
 */
export function fillIndex(index: NedbIndex, docs: object[], loaded: LoadedDocuments = {}): void {
	const grouped =
		loaded.byId && index.fieldName === "_id" && index.unique ? { byKey: loaded.byId, onlyStrings: true } : documentsByKey(index, docs, loaded.alone);
	if (!grouped) {
		index.reset(docs);
		return;
	}
	const found = grouped.byKey as Map<Key, object[]>;
	index.reset();
	if (found.size === 0) return;
	let keys = [...found.keys()];
	// Without a comparator, sort orders strings by UTF-16 code units, as compareThings does, and much faster.
	if (grouped.onlyStrings) keys.sort();
	else {
		// sort() puts undefined last whatever the comparator says; compareThings puts it first.
		keys = keys.filter(key => key !== undefined).sort(nedbModel.compareThings);
		if (found.has(undefined)) keys.unshift(undefined);
	}
	const Node = nodeClass(index.tree.tree, index.treeOptions as NodeOptions);
	const build = (lo: number, hi: number, parent: TreeNode | null): TreeNode | null => {
		if (lo > hi) return null;
		const mid = (lo + hi) >>> 1;
		const node = new Node(parent, keys[mid], found.get(keys[mid])!);
		node.left = build(lo, mid - 1, node);
		node.right = build(mid + 1, hi, node);
		if (node.left || node.right) node.height = 1 + Math.max(node.left ? node.left.height! : 0, node.right ? node.right.height! : 0);
		return node;
	};
	index.tree.tree = build(0, keys.length - 1, null) as NedbIndex["tree"]["tree"];
}
