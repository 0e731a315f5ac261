import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { useSortedKeysInNedbIndexes } from "../../../lib/storage/nedb-keys.ts";
import { PartitionedKeys } from "../../../lib/storage/partitioned-keys.ts";
import { SortedKeys } from "../../../lib/storage/sorted-keys.ts";

const require = createRequire(import.meta.url);
const { AVLTree } = require("@seald-io/binary-search-tree") as { AVLTree: new (options: object) => Reference };
const { compareThings } = require("@seald-io/nedb/lib/model.js") as { compareThings(a: unknown, b: unknown): number };
const Datastore = require("@seald-io/nedb") as new (options: { inMemoryOnly: true }) => {
	insertAsync(doc: object): Promise<unknown>;
	removeAsync(query: object, options: object): Promise<number>;
	findAsync(query: object): Promise<{ _id: string }[]>;
	ensureIndexAsync(options: object): Promise<void>;
	indexes: Record<string, { tree: SortedKeys }>;
};

useSortedKeysInNedbIndexes();

/** The AVL tree NeDB's indexes used, the reference for every answer. */
interface Reference {
	insert(key: unknown, value: object): void;
	delete(key: unknown, value?: object): void;
	search(key: unknown): object[];
	betweenBounds(query: object): object[];
	executeOnEveryNode(fn: (node: { key: unknown; data: object[] }) => void): void;
	getNumberOfKeys(): number;
}

/** A repeatable sequence of pseudo-random numbers in [0, 1). */
function random(seed: number) {
	let x = seed;
	return () => {
		x = (x * 1103515245 + 12345) % 2 ** 31;
		return x / 2 ** 31;
	};
}

const contents = (index: SortedKeys | PartitionedKeys | Reference) => {
	const nodes: [unknown, object[]][] = [];
	index.executeOnEveryNode(node => nodes.push([node.key, [...node.data]]));
	return nodes;
};

/** What an insert did: nothing, or the error it threw (message and errorType). */
function outcome(insert: () => void): string {
	try {
		insert();
		return "ok";
	} catch (err) {
		return `${(err as Error).message} ${(err as { errorType?: string }).errorType}`;
	}
}

/** Keys that grow (as ids and seqs do) and keys anywhere, so chunks split at the end and in the middle. */
const plainKeys = (next: () => number) => (i: number) =>
	next() < 0.5 ? `k${String(i).padStart(6, "0")}` : `k${String(Math.floor(next() * 4000)).padStart(6, "0")}`;

/**
 * Keys of conversations (`g12:000034`), among them names that are prefixes of others (g1, g10), more than one ':'
 * (`g1:x:5`), keys without any and numbers: what PartitionedKeys must order as one index would.
 */
const partitionKeys = (next: () => number) => (i: number) => {
	const group = `g${Math.floor(next() * 12)}`;
	const roll = next();
	if (roll < 0.7) return `${group}:${String(next() < 0.5 ? i : Math.floor(next() * 4000)).padStart(6, "0")}`;
	if (roll < 0.8) return `${group}:x:${Math.floor(next() * 50)}`;
	if (roll < 0.9) return `${group}${Math.floor(next() * 50)}`;
	return roll < 0.95 ? `${group}:` : (Math.floor(next() * 100) as unknown as string);
};

/** Bounds over `keyOf`'s keys: both sides, one side, both bounds of a side, within one conversation and across. */
function randomBounds(next: () => number, keyOf: (i: number) => string, i: number): object {
	const [a, b] = [keyOf(i), keyOf(i)].sort((x, y) => compareThings(x, y));
	const group = typeof a === "string" ? a.slice(0, Math.max(1, a.lastIndexOf(":"))) : "g1";
	const shapes = [
		{ $gte: a, $lte: b },
		{ $gt: a, $lt: b },
		{ $gt: a },
		{ $lte: b },
		{ $gt: a, $gte: b, $lt: b, $lte: a },
		{ $gte: `${group}:000100`, $lte: `${group}:002000` },
		{ $gt: `${group}:`, $lte: `${group}:~` }
	];
	return shapes[Math.floor(next() * shapes.length)];
}

for (const [name, make, keysOf] of [
	["SortedKeys", (unique: boolean) => new SortedKeys(unique), plainKeys],
	["PartitionedKeys", (unique: boolean) => new PartitionedKeys(unique), partitionKeys]
] as const) {
	describe(name, () => {
		for (const unique of [true, false]) {
			test(`${unique ? "unique" : "non-unique"}: 20,000 random inserts, deletes, searches and ranges answer as the AVL tree does`, () => {
				const next = random(unique ? 11 : 12);
				const ours = make(unique);
				const reference = new AVLTree({ unique, compareKeys: compareThings, checkValueEquality: (a: unknown, b: unknown) => a === b });
				const docs: { key: string }[] = [];
				const keyOf = keysOf(next);
				for (let i = 0; i < 20_000; i++) {
					const roll = next();
					if (roll < 0.6 || docs.length === 0) {
						const doc = { key: keyOf(i) };
						const ourOutcome = outcome(() => ours.insert(doc.key, doc));
						assert.equal(
							ourOutcome,
							outcome(() => reference.insert(doc.key, doc))
						);
						if (ourOutcome === "ok") docs.push(doc);
					} else if (roll < 0.85) {
						const [doc] = docs.splice(Math.floor(next() * docs.length), 1);
						ours.delete(doc.key, doc);
						reference.delete(doc.key, doc);
					} else if (roll < 0.95) {
						const key = keyOf(i);
						assert.deepEqual(ours.search(key), reference.search(key));
					} else {
						const bounds = randomBounds(next, keyOf, i);
						assert.deepEqual(ours.betweenBounds(bounds), reference.betweenBounds(bounds), JSON.stringify(bounds));
					}
				}
				ours.checkConsistent();
				assert.equal(ours.getNumberOfKeys(), reference.getNumberOfKeys());
				assert.deepEqual(contents(ours), contents(reference));
				assert.deepEqual(
					ours.all(),
					contents(reference).flatMap(([, data]) => data)
				);
				const half = contents(reference)[Math.floor(reference.getNumberOfKeys() / 2)][0];
				assert.deepEqual(
					[...ours.documentsAfter({ key: half })].map(({ doc }) => doc),
					contents(reference)
						.filter(([key]) => compareThings(key, half) > 0)
						.flatMap(([, data]) => data)
				);
			});
		}

		test("fromSorted holds what inserting the same keys one by one holds, and takes inserts after", () => {
			const next = random(5);
			const keyOf = keysOf(next);
			const keys = [...new Set(Array.from({ length: 3000 }, (_, i) => keyOf(i)))].sort((a, b) => compareThings(a, b));
			const docs = keys.map(key => ({ key }));
			const built = (name === "SortedKeys" ? SortedKeys : PartitionedKeys).fromSorted(true, keys, docs);
			const inserted = make(true);
			keys.forEach((key, i) => inserted.insert(key, docs[i]));
			assert.deepEqual(contents(built), contents(inserted));
			// Between two keys of a built chunk: no key generated ends in "~".
			const between = `${String(keys[Math.floor(keys.length / 2)])}~`;
			built.insert(between, { key: between });
			assert.throws(() => built.insert(keys[10], {}), { errorType: "uniqueViolated", key: keys[10] });
			built.checkConsistent();
			assert.equal(built.getNumberOfKeys(), keys.length + 1);
		});
	});
}

describe("SortedKeys", () => {
	test("keys of every type NeDB indexes keep compareThings' order", () => {
		const keys = [undefined, null, -1, 0, 2.5, 10, "", "a", "b", false, true, new Date(0), new Date(1000)];
		const ours = new SortedKeys(false);
		const reference = new AVLTree({ unique: false, compareKeys: compareThings, checkValueEquality: (a: unknown, b: unknown) => a === b });
		for (const key of [...keys].reverse()) {
			ours.insert(key, { key });
			reference.insert(key, { key });
		}
		assert.deepEqual(contents(ours), contents(reference));
		assert.deepEqual(ours.betweenBounds({ $gte: 0, $lt: 10 }), reference.betweenBounds({ $gte: 0, $lt: 10 }));
		assert.deepEqual(ours.search(new Date(1000)), reference.search(new Date(1000)));
	});

	test("a walk resumed by key across inserts and removals meets every untouched document once, in order", async () => {
		const db = new Datastore({ inMemoryOnly: true });
		const next = random(7);
		const id = () =>
			Math.floor(next() * 36 ** 6)
				.toString(36)
				.padStart(6, "0");
		const initial = new Set<string>();
		for (let i = 0; i < 3000; i++) {
			const _id = id();
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
			for (const { key, doc } of db.indexes._id.tree.documentsAfter(reached)) {
				seen.push((doc as { _id: string })._id);
				reached = { key };
				if (++inSlice === 37) {
					done = false;
					break;
				}
			}
			// Between slices: new documents anywhere in key order, and removals ahead of and behind the walk.
			for (let k = 0; k < 20; k++) await db.insertAsync({ _id: `${id()}n` });
			for (let k = 0; k < 5; k++) {
				const _id = order[(picked += 1571) % order.length];
				if (!removed.has(_id) && (await db.removeAsync({ _id }, {}))) removed.add(_id);
			}
		}
		assert.ok(removed.size > 300, `${removed.size} removed`);
		assert.deepEqual(seen, [...seen].sort(), "in key order");
		assert.equal(new Set(seen).size, seen.length, "none twice");
		assert.deepEqual(
			[...initial].filter(_id => !removed.has(_id) && !seen.includes(_id)),
			[]
		);
		assert.deepEqual([...new Datastore({ inMemoryOnly: true }).indexes._id.tree.documentsAfter()], []);
	});

	test("NeDB's datastore on SortedKeys: unique violations roll back, ranges and $in answer", async () => {
		const db = new Datastore({ inMemoryOnly: true });
		await db.ensureIndexAsync({ fieldName: "groupSeq", unique: true });
		await db.ensureIndexAsync({ fieldName: "clientKey", unique: true, sparse: true });
		for (let seq = 1; seq <= 50; seq++) await db.insertAsync({ _id: `m${seq}`, groupSeq: `g:${String(seq).padStart(3, "0")}`, clientKey: `c${seq}` });
		await assert.rejects(db.insertAsync({ _id: "m51", groupSeq: "g:051", clientKey: "c7" }), { errorType: "uniqueViolated" });
		// The rejected document left no key behind in the index that accepted it.
		assert.deepEqual(db.indexes.groupSeq.tree.search("g:051"), []);
		assert.equal(db.indexes._id.tree.getNumberOfKeys(), 50);
		const page = await db.findAsync({ groupSeq: { $gte: "g:010", $lt: "g:015" } });
		assert.deepEqual(page.map(m => m._id).sort(), ["m10", "m11", "m12", "m13", "m14"]);
		assert.deepEqual((await db.findAsync({ clientKey: { $in: ["c3", "c40", "nope"] } })).map(m => m._id).sort(), ["m3", "m40"]);
	});
});
