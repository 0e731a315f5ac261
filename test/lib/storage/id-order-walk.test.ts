import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { documentsAfter, type IdTreeNode } from "../../../lib/storage/id-order-walk.ts";

const Datastore = createRequire(import.meta.url)("@seald-io/nedb") as new (options: { inMemoryOnly: true }) => {
	insertAsync(doc: object): Promise<unknown>;
	removeAsync(query: object, options: object): Promise<number>;
	indexes: { _id: { tree: { tree: IdTreeNode } } };
};

/** A repeatable sequence of pseudo-random ids. */
function ids(seed: number) {
	let x = seed;
	return () => {
		x = (x * 1103515245 + 12345) % 2 ** 31;
		return x.toString(36).padStart(6, "0");
	};
}

describe("documentsAfter", () => {
	test("a walk resumed by key across inserts and removals that rebalance the tree meets every untouched document once, in order", async () => {
		const db = new Datastore({ inMemoryOnly: true });
		const next = ids(7);
		const initial = new Set<string>();
		for (let i = 0; i < 3000; i++) {
			const _id = next();
			if (initial.has(_id)) continue;
			initial.add(_id);
			await db.insertAsync({ _id });
		}
		const removed = new Set<string>();
		const order = [...initial];
		let picked = 0;
		const seen: string[] = [];
		let reached: { key: unknown } | undefined;
		for (let done = false; !done;) {
			done = true;
			let inSlice = 0;
			for (const { key, doc } of documentsAfter(db.indexes._id.tree.tree, reached)) {
				seen.push((doc as { _id: string })._id);
				reached = { key };
				if (++inSlice === 37) {
					done = false;
					break;
				}
			}
			// Between slices: new documents anywhere in key order, and removals ahead of and behind the walk.
			for (let k = 0; k < 20; k++) await db.insertAsync({ _id: `${next()}n` });
			for (let k = 0; k < 5; k++) {
				const _id = order[(picked += 1571) % order.length];
				if (!removed.has(_id) && (await db.removeAsync({ _id }, {}))) removed.add(_id);
			}
		}
		assert.ok(removed.size > 300, `${removed.size} removed`);
		assert.deepEqual(seen, [...seen].sort(), "in key order");
		assert.equal(new Set(seen).size, seen.length, "none twice");
		const untouched = [...initial].filter(id => !removed.has(id));
		assert.deepEqual(
			untouched.filter(id => !seen.includes(id)),
			[]
		);
	});

	test("an empty index has no documents", () => {
		const db = new Datastore({ inMemoryOnly: true });
		assert.deepEqual([...documentsAfter(db.indexes._id.tree.tree)], []);
	});
});
