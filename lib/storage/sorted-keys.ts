import { createRequire } from "node:module";

const nedbModel = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as { compareThings(a: unknown, b: unknown): number };

/** Keys per chunk once a chunk is split; a chunk splits at twice this, and merges into a neighbour below a quarter. */
const CHUNK = 32;

export type Bounds = { $gt?: unknown; $gte?: unknown; $lt?: unknown; $lte?: unknown };

/** compareThings' order (NeDB's for index keys), with strings, by far the most common keys, compared at once. */
export function compareKeys(a: unknown, b: unknown): number {
	if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
	return nedbModel.compareThings(a, b);
}

/** compareKeys(a, b) < 0, with one comparison of two strings where compareKeys may make two. */
function less(a: unknown, b: unknown): boolean {
	if (typeof a === "string" && typeof b === "string") return a < b;
	return nedbModel.compareThings(a, b) < 0;
}

function same(a: unknown, b: unknown): boolean {
	if (typeof a === "string" && typeof b === "string") return a === b;
	return nedbModel.compareThings(a, b) === 0;
}

interface Chunk {
	keys: unknown[];
	/** A unique index holds the document itself under each key, any other an array of them. */
	values: unknown[];
}

/**
 * What an index of NeDB keeps in memory, in place of @seald-io/binary-search-tree's AVL tree, with the same
 * methods and answers (insert, delete, search, betweenBounds, executeOnEveryNode): the keys sorted in chunks of
 * 32 to 64, each chunk a pair of plain arrays. An insert is two binary searches and a short move within one
 * chunk; the AVL tree made and rebalanced a node object per key, which took 10–15% of a node's CPU under a
 * direct-message load (a microbenchmark: 2.3–4.3 µs an insert, here 0.55–0.6) and was most of a full GC's objects.
 */
export class SortedKeys {
	readonly unique: boolean;
	private chunks: Chunk[] = [];
	/** The first key of each chunk, to find a key's chunk with one binary search. */
	private firsts: unknown[] = [];
	private keyCount = 0;

	constructor(unique: boolean) {
		this.unique = unique;
	}

	/** An index of `keys`, already sorted and distinct, each with its value (a document when unique, else an array of them). */
	static fromSorted(unique: boolean, keys: unknown[], values: unknown[]): SortedKeys {
		const index = new SortedKeys(unique);
		for (let at = 0; at < keys.length; at += CHUNK) {
			index.chunks.push({ keys: keys.slice(at, at + CHUNK), values: values.slice(at, at + CHUNK) });
			index.firsts.push(keys[at]);
		}
		index.keyCount = keys.length;
		return index;
	}

	getNumberOfKeys(): number {
		return this.keyCount;
	}

	insert(key: unknown, doc: object): void {
		if (this.chunks.length === 0) {
			this.chunks.push({ keys: [key], values: [this.unique ? doc : [doc]] });
			this.firsts.push(key);
			this.keyCount = 1;
			return;
		}
		const c = this.chunkOf(key);
		const { keys, values } = this.chunks[c];
		const last = keys.length - 1;
		// Growing keys land past the last one: no search within the chunk.
		const i = less(keys[last], key) ? last + 1 : lowerBound(keys, key);
		if (i <= last && same(keys[i], key)) {
			if (this.unique) throw uniqueViolation(key);
			(values[i] as object[]).push(doc);
			return;
		}
		insertAt(keys, i, key);
		insertAt(values, i, this.unique ? doc : [doc]);
		if (i === 0) this.firsts[c] = key;
		this.keyCount++;
		if (keys.length >= 2 * CHUNK) this.split(c);
	}

	/** Removes `doc` from under `key` (every document under it when `doc` is not given), and the key once none is left. */
	delete(key: unknown, doc?: object): void {
		if (this.chunks.length === 0) return;
		const c = this.chunkOf(key);
		const chunk = this.chunks[c];
		const i = lowerBound(chunk.keys, key);
		if (i >= chunk.keys.length || !same(chunk.keys[i], key)) return;
		if (doc !== undefined) {
			if (this.unique) {
				if (chunk.values[i] !== doc) return;
			} else {
				const left = (chunk.values[i] as object[]).filter(held => held !== doc);
				if (left.length > 0) {
					chunk.values[i] = left;
					return;
				}
			}
		}
		removeAt(chunk.keys, i);
		removeAt(chunk.values, i);
		this.keyCount--;
		if (chunk.keys.length === 0) {
			removeAt(this.chunks, c);
			removeAt(this.firsts, c);
			return;
		}
		if (i === 0) this.firsts[c] = chunk.keys[0];
		if (chunk.keys.length < CHUNK / 4 && this.chunks.length > 1) this.mergeWithNeighbour(c);
	}

	/** The documents under `key`, [] when none. */
	search(key: unknown): object[] {
		if (this.chunks.length === 0) return [];
		const { keys, values } = this.chunks[this.chunkOf(key)];
		const i = lowerBound(keys, key);
		if (i >= keys.length || !same(keys[i], key)) return [];
		return this.unique ? [values[i] as object] : (values[i] as object[]);
	}

	/** The documents whose keys are within the bounds ($gt/$gte, $lt/$lte, each optional), in key order. */
	betweenBounds(query: Bounds): object[] {
		const found: object[] = [];
		for (const { doc } of this.entriesBetween(query)) found.push(doc);
		return found;
	}

	/** Each key within the bounds with each of its documents, in key order. */
	*entriesBetween(query: Bounds): Generator<{ key: unknown; doc: object }> {
		const above = lowerMatcher(query);
		const below = upperMatcher(query);
		const from = above.bound === undefined ? { c: 0, i: 0 } : this.positionOf(above.bound.key, above.bound.inclusive);
		for (let c = from.c, i = from.i; c < this.chunks.length; c++, i = 0) {
			const { keys, values } = this.chunks[c];
			for (; i < keys.length; i++) {
				if (!below(keys[i])) return;
				if (this.unique) yield { key: keys[i], doc: values[i] as object };
				else for (const doc of values[i] as object[]) yield { key: keys[i], doc };
			}
		}
	}

	/** Every document in key order (NeDB's getAll, the documents of a full scan). */
	all(): object[] {
		const found: object[] = [];
		for (const { values } of this.chunks) {
			if (this.unique) for (const doc of values) found.push(doc as object);
			else for (const docs of values) for (const doc of docs as object[]) found.push(doc);
		}
		return found;
	}

	/** Each key in order with its documents (NeDB's getAll, the loads and the tests read them so). */
	executeOnEveryNode(visit: (node: { key: unknown; data: object[] }) => void): void {
		for (const { keys, values } of this.chunks)
			for (let i = 0; i < keys.length; i++) visit({ key: keys[i], data: this.unique ? [values[i] as object] : (values[i] as object[]) });
	}

	/**
	 * The documents in key order from the first key after `after` (from the first key when undefined). Read
	 * within one synchronous step: a walk that spans turns starts again with the last key it reached.
	 */
	documentsAfter(after?: { key: unknown }): Generator<{ key: unknown; doc: object }> {
		return this.entriesBetween(after === undefined ? {} : { $gt: after.key });
	}

	/** Throws unless the chunks hold distinct keys in order and their bookkeeping agrees (for the tests). */
	checkConsistent(): void {
		let count = 0;
		let previous: { key: unknown } | undefined;
		this.chunks.forEach(({ keys, values }, c) => {
			if (keys.length === 0 || keys.length !== values.length) throw new Error(`chunk ${c}: ${keys.length} keys, ${values.length} values`);
			if (compareKeys(this.firsts[c], keys[0]) !== 0) throw new Error(`chunk ${c}: first key not recorded`);
			for (const key of keys) {
				if (previous && compareKeys(previous.key, key) >= 0) throw new Error(`keys out of order at ${JSON.stringify(key)}`);
				previous = { key };
			}
			count += keys.length;
		});
		if (count !== this.keyCount || this.firsts.length !== this.chunks.length) throw new Error(`${count} keys counted, ${this.keyCount} recorded`);
	}

	/** The last chunk whose first key is ≤ key (the first chunk for a key before all). */
	private chunkOf(key: unknown): number {
		const firsts = this.firsts;
		let lo = 0;
		let hi = firsts.length - 1;
		if (!less(key, firsts[hi])) return hi;
		while (lo < hi) {
			const mid = (lo + hi + 1) >>> 1;
			if (!less(key, firsts[mid])) lo = mid;
			else hi = mid - 1;
		}
		return lo;
	}

	/** Where the first key ≥ key (> key unless `inclusive`) is, or one past the end. */
	private positionOf(key: unknown, inclusive: boolean): { c: number; i: number } {
		if (this.chunks.length === 0) return { c: 0, i: 0 };
		const c = this.chunkOf(key);
		const { keys } = this.chunks[c];
		let i = lowerBound(keys, key);
		if (!inclusive && i < keys.length && same(keys[i], key)) i++;
		return i < keys.length ? { c, i } : { c: c + 1, i: 0 };
	}

	private split(c: number): void {
		const { keys, values } = this.chunks[c];
		const next = { keys: keys.splice(CHUNK), values: values.splice(CHUNK) };
		insertAt(this.chunks, c + 1, next);
		insertAt(this.firsts, c + 1, next.keys[0]);
	}

	private mergeWithNeighbour(c: number): void {
		const into = c > 0 ? c - 1 : c;
		const target = this.chunks[into];
		const from = this.chunks[into + 1];
		for (let i = 0; i < from.keys.length; i++) {
			target.keys.push(from.keys[i]);
			target.values.push(from.values[i]);
		}
		removeAt(this.chunks, into + 1);
		removeAt(this.firsts, into + 1);
		if (target.keys.length >= 2 * CHUNK) this.split(into);
	}
}

// Array.prototype.splice took most of an insert's time (it allocates and moves elements one by one in its
// generic path); a loop the JIT compiles moves the few hundred pointers behind the position far faster.
function insertAt<T>(items: T[], at: number, item: T): void {
	let j = items.length;
	items.push(item);
	for (; j > at; j--) items[j] = items[j - 1];
	items[at] = item;
}

function removeAt<T>(items: T[], at: number): void {
	const end = items.length - 1;
	for (let j = at; j < end; j++) items[j] = items[j + 1];
	items.pop();
}

/** The first position whose key is ≥ key (in compareKeys' order). */
export function lowerBound(keys: unknown[], key: unknown): number {
	let lo = 0;
	let hi = keys.length;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (less(keys[mid], key)) lo = mid + 1;
		else hi = mid;
	}
	return lo;
}

/** The lower bound of a range as the AVL tree read it: of $gt and $gte, the stricter. */
function lowerMatcher(query: Bounds): { bound?: { key: unknown; inclusive: boolean } } {
	const gt = Object.hasOwn(query, "$gt");
	const gte = Object.hasOwn(query, "$gte");
	if (gt && gte) return { bound: compareKeys(query.$gte, query.$gt) > 0 ? { key: query.$gte, inclusive: true } : { key: query.$gt, inclusive: false } };
	if (gt) return { bound: { key: query.$gt, inclusive: false } };
	if (gte) return { bound: { key: query.$gte, inclusive: true } };
	return {};
}

function upperMatcher(query: Bounds): (key: unknown) => boolean {
	const lt = Object.hasOwn(query, "$lt");
	const lte = Object.hasOwn(query, "$lte");
	if (lt && lte) return compareKeys(query.$lte, query.$lt) < 0 ? key => compareKeys(key, query.$lte) <= 0 : key => compareKeys(key, query.$lt) < 0;
	if (lt) return key => compareKeys(key, query.$lt) < 0;
	if (lte) return key => compareKeys(key, query.$lte) <= 0;
	return () => true;
}

/** The error the AVL tree threw, which NeDB passes on to the caller of an insert or update. */
function uniqueViolation(key: unknown): Error {
	return Object.assign(new Error(`Can't insert key ${JSON.stringify(key)}, it violates the unique constraint`), { key, errorType: "uniqueViolated" });
}
