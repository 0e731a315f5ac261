import { type Bounds, compareKeys, lowerBound, SortedKeys } from "./sorted-keys.ts";

/** The part of a key before its last ':' (a conversation's id in `groupId:seq`), or undefined for any other key. */
export function partitionOf(key: unknown): string | undefined {
	if (typeof key !== "string") return undefined;
	const at = key.lastIndexOf(":");
	return at < 0 ? undefined : key.slice(0, at);
}

/** The longest prefix `a` and `b` share. */
function commonPrefix(a: string, b: string): string {
	let i = 0;
	while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
	return a.slice(0, i);
}

/**
 * SortedKeys for keys shaped `partition:suffix` (`groupId:seq`, `senderId:clientMessageId`): one SortedKeys per
 * partition, found by a Map, plus one for any other key. A conversation's next seq lands at the end of its own
 * small partition: a lookup and a comparison or two with keys of the same conversation, where one index over all
 * of them compared the key with ~17 others scattered over the heap (3–4 µs an insert in a busy node, mostly cache
 * misses). Same answers as SortedKeys for every key: a range within one partition (a page of history, the changes
 * since a version) is read from it; any other range, and a walk over every key, merges the partitions in key order.
 */
export class PartitionedKeys {
	readonly unique: boolean;
	private readonly partitions = new Map<string, SortedKeys>();
	/** Keys that are not strings or have no ':'. */
	private others: SortedKeys;
	/** The partitions' names in order (null until a range needs them after a bulk fill), kept as partitions come and go. */
	private sortedNames: string[] | null = [];
	private keyCount = 0;

	constructor(unique: boolean) {
		this.unique = unique;
		this.others = new SortedKeys(unique);
	}

	/** An index of partitions already filled, by name (undefined: the keys of no partition). */
	static fromPartitions(unique: boolean, partitions: Iterable<[string | undefined, SortedKeys]>): PartitionedKeys {
		const index = new PartitionedKeys(unique);
		for (const [name, keys] of partitions) {
			if (keys.getNumberOfKeys() === 0) continue;
			if (name === undefined) index.others = keys;
			else index.partitions.set(name, keys);
			index.keyCount += keys.getNumberOfKeys();
		}
		index.sortedNames = null;
		return index;
	}

	/** An index of `keys`, already sorted and distinct, each with its value (a document when unique, else an array of them). */
	static fromSorted(unique: boolean, keys: unknown[], values: unknown[]): PartitionedKeys {
		const byPartition = new Map<string | undefined, { keys: unknown[]; values: unknown[] }>();
		keys.forEach((key, i) => {
			const name = partitionOf(key);
			let held = byPartition.get(name);
			if (!held) byPartition.set(name, (held = { keys: [], values: [] }));
			held.keys.push(key);
			held.values.push(values[i]);
		});
		return PartitionedKeys.fromPartitions(
			unique,
			[...byPartition].map(([name, held]) => [name, SortedKeys.fromSorted(unique, held.keys, held.values)])
		);
	}

	getNumberOfKeys(): number {
		return this.keyCount;
	}

	insert(key: unknown, doc: object): void {
		const name = partitionOf(key);
		let keys = name === undefined ? this.others : this.partitions.get(name);
		if (!keys) {
			keys = new SortedKeys(this.unique);
			this.partitions.set(name!, keys);
			this.sortedNames?.splice(lowerBound(this.sortedNames, name!), 0, name!);
		}
		const before = keys.getNumberOfKeys();
		keys.insert(key, doc);
		this.keyCount += keys.getNumberOfKeys() - before;
	}

	delete(key: unknown, doc?: object): void {
		const name = partitionOf(key);
		const keys = name === undefined ? this.others : this.partitions.get(name);
		if (!keys) return;
		const before = keys.getNumberOfKeys();
		keys.delete(key, doc);
		this.keyCount -= before - keys.getNumberOfKeys();
		if (name !== undefined && keys.getNumberOfKeys() === 0) {
			this.partitions.delete(name);
			this.sortedNames?.splice(lowerBound(this.sortedNames, name), 1);
		}
	}

	search(key: unknown): object[] {
		const name = partitionOf(key);
		const keys = name === undefined ? this.others : this.partitions.get(name);
		return keys ? keys.search(key) : [];
	}

	betweenBounds(query: Bounds): object[] {
		const holding = this.partitionsWithin(query);
		if (holding.length === 1) return holding[0].betweenBounds(query);
		return this.entriesBetween(query).map(({ doc }) => doc);
	}

	all(): object[] {
		return this.betweenBounds({});
	}

	executeOnEveryNode(visit: (node: { key: unknown; data: object[] }) => void): void {
		const entries = this.entriesBetween({});
		for (let i = 0; i < entries.length;) {
			const key = entries[i].key;
			const data: object[] = [];
			for (; i < entries.length && entries[i].key === key; i++) data.push(entries[i].doc);
			visit({ key, data });
		}
	}

	documentsAfter(after?: { key: unknown }): Iterable<{ key: unknown; doc: object }> {
		return this.entriesBetween(after === undefined ? {} : { $gt: after.key });
	}

	checkConsistent(): void {
		let count = this.others.getNumberOfKeys();
		this.others.checkConsistent();
		this.others.executeOnEveryNode(({ key }) => {
			if (partitionOf(key) !== undefined) throw new Error(`${JSON.stringify(key)} belongs to a partition`);
		});
		for (const [name, keys] of this.partitions) {
			keys.checkConsistent();
			if (keys.getNumberOfKeys() === 0) throw new Error(`partition ${name} is empty`);
			keys.executeOnEveryNode(({ key }) => {
				if (partitionOf(key) !== name) throw new Error(`${JSON.stringify(key)} is not in partition ${name}`);
			});
			count += keys.getNumberOfKeys();
		}
		if (count !== this.keyCount) throw new Error(`${count} keys counted, ${this.keyCount} recorded`);
		if (this.sortedNames && this.sortedNames.join("\n") !== [...this.partitions.keys()].sort().join("\n")) throw new Error("partition names out of order");
	}

	/**
	 * The partitions that may hold keys within the bounds. Every string between two bounds starts with what the
	 * bounds share, so a key within them is in a partition whose name starts with that, up to its last ':'.
	 */
	private partitionsWithin(query: Bounds): SortedKeys[] {
		// Either bound of a side holds for every key within the range; the stricter one is the ranges' business.
		const low = Object.hasOwn(query, "$gte") ? query.$gte : query.$gt;
		const high = Object.hasOwn(query, "$lte") ? query.$lte : query.$lt;
		const others = this.others.getNumberOfKeys() > 0 ? [this.others] : [];
		if (typeof low !== "string" || typeof high !== "string") return [...this.partitions.values(), ...others];
		const shared = commonPrefix(low, high);
		const colon = shared.lastIndexOf(":");
		const start = colon < 0 ? shared : shared.slice(0, colon);
		const names = this.names();
		const holding: SortedKeys[] = [];
		for (let i = lowerBound(names, start); i < names.length && names[i].startsWith(start); i++) holding.push(this.partitions.get(names[i])!);
		return [...holding, ...others];
	}

	private names(): string[] {
		this.sortedNames ??= [...this.partitions.keys()].sort();
		return this.sortedNames;
	}

	/** Each key within the bounds with each of its documents, in key order: the partitions that may hold them, merged. */
	private entriesBetween(query: Bounds): { key: unknown; doc: object }[] {
		const found: { key: unknown; doc: object }[] = [];
		for (const keys of this.partitionsWithin(query)) for (const entry of keys.entriesBetween(query)) found.push(entry);
		return found.sort((a, b) => compareKeys(a.key, b.key));
	}
}
