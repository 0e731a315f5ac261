import { createRequire } from "node:module";

const nedbModel = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as { compareThings(a: unknown, b: unknown): number };

/** A node of NeDB's `_id` index (@seald-io/binary-search-tree's AVL tree); the root of an empty tree has no key. */
export interface IdTreeNode {
	left: IdTreeNode | null;
	right: IdTreeNode | null;
	key?: unknown;
	data: object[];
}

/**
 * The documents of an `_id` index in key order, from the first key after `after` (from the first key when
 * `after` is undefined). Read within one synchronous step: the tree rebalances on writes, so a walk that spans
 * turns starts again from the root with the last key it reached.
 */
export function* documentsAfter(root: IdTreeNode, after?: { key: unknown }): Generator<{ key: unknown; doc: object }> {
	if (!Object.hasOwn(root, "key")) return;
	const path: IdTreeNode[] = [];
	for (let node: IdTreeNode | null = root; node;) {
		if (!after || nedbModel.compareThings(node.key, after.key) > 0) {
			path.push(node);
			node = node.left;
		} else node = node.right;
	}
	while (path.length > 0) {
		const node = path.pop()!;
		for (const doc of node.data) yield { key: node.key, doc };
		for (let next = node.right; next; next = next.left) path.push(next);
	}
}
