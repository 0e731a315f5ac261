import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { MESSAGE_INDEXES as MESSAGE_INDEX_SPECS } from "../../../services/messages/message-indexes.ts";
import { Datastore, datastoreWithoutLoadRewrite, useFastDeserialize } from "../../../lib/storage/nedb-load.ts";
import { nedbIndexesOf, partitionIndexKeys, type IndexKeys } from "../../../lib/storage/nedb-keys.ts";
import { PartitionedKeys } from "../../../lib/storage/partitioned-keys.ts";

// As the messages service declares them: NeDB's own load and ours fill the same PartitionedKeys for these.
partitionIndexKeys(nedbIndexesOf(MESSAGE_INDEX_SPECS));
/** The `$$indexCreated` options the service's ensureIndex writes. */
const MESSAGE_INDEXES = nedbIndexesOf(MESSAGE_INDEX_SPECS).map(({ fieldName, unique, sparse }) => ({ fieldName, unique, sparse }));
const root = mkdtempSync(path.join(tmpdir(), "nedb-load-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

type Loaded = {
	loadDatabaseAsync(): Promise<void>;
	getAllData(): { _id: string }[];
	compactDatafileAsync(): Promise<void>;
	ensureIndexAsync(options: { fieldName: string; unique?: boolean; sparse?: boolean }): Promise<void>;
	insertAsync(doc: object): Promise<unknown>;
	removeAsync(query: object, options: { multi?: boolean }): Promise<number>;
	updateAsync(query: object, update: object, options: { multi?: boolean }): Promise<unknown>;
	findAsync(query: object): PromiseLike<unknown[]> & { sort(s: object): PromiseLike<unknown[]> };
	indexes: Record<string, { fieldName: string; unique: boolean; sparse: boolean; tree: IndexKeys }>;
};

let files = 0;

/** The same datafile loaded by NeDB's own load and by ours (each from its own copy of the file). */
async function loadBoth(text: string): Promise<{ own: Loaded; ours: Loaded; ownError?: Error; oursError?: Error }> {
	const name = `f${files++}`;
	writeFileSync(path.join(root, `${name}-own.db`), text);
	writeFileSync(path.join(root, `${name}-ours.db`), text);
	const own = new Datastore({ filename: path.join(root, `${name}-own.db`), autoload: false }) as unknown as Loaded;
	const ours = datastoreWithoutLoadRewrite(path.join(root, `${name}-ours.db`)) as unknown as Loaded;
	const ownError = await own.loadDatabaseAsync().then(
		() => undefined,
		(err: Error) => err
	);
	const oursError = await ours.loadDatabaseAsync().then(
		() => undefined,
		(err: Error) => err
	);
	return { own, ours, ownError, oursError };
}

/** Every index as NeDB holds it: its options and, in key order, each key with the ids of its documents. */
function indexContents(db: Loaded) {
	return Object.entries(db.indexes).map(([name, index]) => {
		const nodes: [unknown, unknown[]][] = [];
		index.tree.executeOnEveryNode(node => nodes.push([node.key, node.data.map(doc => (doc as { _id: unknown })._id)]));
		return { name, fieldName: index.fieldName, unique: index.unique, sparse: index.sparse, nodes };
	});
}

function assertSameStore(own: Loaded, ours: Loaded) {
	assert.deepEqual(ours.getAllData(), own.getAllData());
	assert.deepEqual(indexContents(ours), indexContents(own));
	for (const index of Object.values(ours.indexes)) index.tree.checkConsistent();
}

const lines = (docs: object[]) => docs.map(doc => JSON.stringify(doc)).join("\n") + "\n";

/** Messages as the messages service stores them, over a few conversations; some mention, some reply, some not. */
function messages(count: number, contentLength = 40): object[] {
	return Array.from({ length: count }, (_, n) => {
		const groupId = `g${n % 7}`;
		const seq = Math.floor(n / 7) + 1;
		return {
			_id: `m${((n * 7919) % count).toString(16).padStart(8, "0")}`,
			groupId,
			seq,
			groupSeq: `${groupId}:${String(seq).padStart(12, "0")}`,
			senderId: `u${n % 3}`,
			content: `message ${n} ${"x".repeat(contentLength)}`,
			clientMessageId: n % 2 ? `c${n}` : null,
			...(n % 2 ? { clientKey: `u${n % 3}:c${n}` } : {}),
			attachments: [],
			createdAt: { $$date: 1_700_000_000_000 + n },
			deletedAt: n % 11 === 0 ? { $$date: 1_700_000_100_000 + n } : null,
			...(n % 5 === 0 ? { mentionKeys: [`${groupId}:u1`, `${groupId}:@all`, `${groupId}:u1`] } : {}),
			...(n % 4 === 0 ? { replyTo: { id: `m${(n >> 1).toString(16).padStart(8, "0")}`, senderId: "u2" } } : {}),
			...(n % 9 === 0 ? { outboxNext: n % 3 } : {})
		};
	});
}

const indexLines = (indexes: object[]) => lines(indexes.map(index => ({ $$indexCreated: index })));

describe("NeDB load", () => {
	test("the fast deserialize loads the same documents as NeDB's reviver, and the load leaves the file as it was", async () => {
		/** A datafile as NeDB leaves it between compactions: updates, a removal, an index line, dates nested anywhere. */
		const LINES = [
			{ _id: "a", createdAt: { $$date: 1_700_000_000_000 }, edits: [{ at: { $$date: 1_700_000_001_000 }, content: "x" }], n: 1 },
			{ _id: "b", content: 'says "$$date"', nested: { deep: { when: { $$date: 0 } } }, list: [1, "two", null, [true]] },
			{ _id: "a", createdAt: { $$date: 1_700_000_000_000 }, edits: [], n: 2 },
			{ _id: "c", n: 3 },
			{ _id: "c", $$deleted: true },
			{ $$indexCreated: { fieldName: "n", unique: false, sparse: true } }
		]
			.map(doc => JSON.stringify(doc))
			.join("\n");
		const file = path.join(root, "same.db");
		writeFileSync(file, LINES + "\n");
		const own = new Datastore({ filename: file, autoload: false }) as unknown as Loaded;
		await own.loadDatabaseAsync();
		const expected = own.getAllData().sort((x, y) => x._id.localeCompare(y._id));
		writeFileSync(file, LINES + "\n");
		useFastDeserialize();
		const ours = datastoreWithoutLoadRewrite(file) as unknown as Loaded;
		await ours.loadDatabaseAsync();
		assert.deepEqual(
			ours.getAllData().sort((x, y) => x._id.localeCompare(y._id)),
			expected
		);
		assert.ok((expected[0] as unknown as { createdAt: Date }).createdAt instanceof Date);
		assert.equal(readFileSync(file, "utf8"), LINES + "\n", "not rewritten on load");
		await ours.compactDatafileAsync();
		assert.equal(readFileSync(file, "utf8").trim().split("\n").length, 3, "a later compaction still rewrites it: a, b and the index");
	});

	test("a datafile of messages with its indexes: the same documents, index trees and answers as NeDB's own load", async () => {
		const docs = messages(3000);
		// Later lines: edits replace documents, removals, an index created and removed again, a removed document back.
		const later = [
			{ ...(docs[10] as object), content: "edited", groupVersion: "g3:000000000001" },
			{ _id: (docs[20] as { _id: string })._id, $$deleted: true },
			{ $$indexCreated: { fieldName: "senderId" } },
			{ $$indexRemoved: "senderId" },
			{ $$indexCreated: { fieldName: "seq" } },
			{ _id: (docs[30] as { _id: string })._id, $$deleted: true },
			docs[30]
		];
		const { own, ours, ownError, oursError } = await loadBoth(lines(docs) + indexLines(MESSAGE_INDEXES) + lines(later));
		assert.equal(ownError, undefined);
		assert.equal(oursError, undefined);
		assertSameStore(own, ours);
		assert.deepEqual(Object.keys(ours.indexes), ["_id", "groupSeq", "outboxNext", "clientKey", "groupVersion", "replyTo.id", "mentionKeys", "seq"]);
		for (const db of [own, ours]) assert.ok(db.indexes.groupSeq.tree instanceof PartitionedKeys, "groupSeq kept per conversation");
		assert.ok((ours.getAllData()[0] as unknown as { createdAt: Date }).createdAt instanceof Date);
		const queries = [
			{ groupSeq: { $gt: "g2:000000000100", $lte: "g2:000000000150" } },
			{ mentionKeys: { $in: ["g3:u1", "g0:@all"] } },
			{ "replyTo.id": (docs[40] as { _id: string })._id },
			{ outboxNext: { $lt: 2 } },
			{ seq: 5 },
			{ clientKey: "u1:c1" }
		];
		for (const query of queries) assert.deepEqual(await ours.findAsync(query), await own.findAsync(query), JSON.stringify(query));
		// Writes after the load go through NeDB's own tree code on the bulk-built trees.
		for (const db of [own, ours]) {
			for (const doc of messages(200).slice(0, 50) as { _id: string; groupSeq: string; clientKey?: string }[])
				await db.insertAsync({
					...doc,
					_id: `new-${doc._id}`,
					groupSeq: `new:${doc.groupSeq}`,
					...(doc.clientKey ? { clientKey: `new:${doc.clientKey}` } : {})
				});
			await db.removeAsync({ groupId: "g1" }, { multi: true });
			await db.updateAsync({ groupId: "g2" }, { $set: { outboxNext: 7 } }, { multi: true });
			await db.updateAsync({ groupId: "g3", seq: { $lt: 5 } }, { $push: { attachments: { id: "a1" } } }, { multi: true });
		}
		// 4 loaded and 4 inserted messages of g3 below seq 5: an empty array shared in memory changes for its document only.
		assert.equal((await ours.findAsync({ attachments: { $size: 1 } })).length, 8);
		assertSameStore(own, ours);
	});

	test("a unique key twice in the datafile fails the load as NeDB's does, and leaves no documents", async () => {
		const docs = messages(100);
		const duplicate = { ...(docs[5] as object), _id: "another" };
		const { own, ours, ownError, oursError } = await loadBoth(lines([...docs, duplicate]) + indexLines(MESSAGE_INDEXES));
		assert.ok(ownError);
		assert.equal(oursError?.message, ownError.message);
		assert.equal((oursError as { errorType?: string }).errorType, "uniqueViolated");
		assert.deepEqual((oursError as { key?: unknown }).key, (ownError as { key?: unknown }).key);
		assert.deepEqual(ours.getAllData(), own.getAllData());
		assert.equal(ours.getAllData().length, 0);
	});

	test("a non-sparse unique index fails on two documents without the field; a sparse one skips them", async () => {
		const docs = [{ _id: "a" }, { _id: "b" }, { _id: "c", code: 1 }];
		const failing = await loadBoth(lines(docs) + indexLines([{ fieldName: "code", unique: true }]));
		assert.equal(failing.oursError?.message, failing.ownError?.message);
		const sparse = await loadBoth(lines(docs) + indexLines([{ fieldName: "code", unique: true, sparse: true }]));
		assert.equal(sparse.oursError, undefined);
		assertSameStore(sparse.own, sparse.ours);
	});

	test("keys of mixed types, dates and arrays in arrays, numeric ids, a missing field in a non-sparse index", async () => {
		const docs = [
			{ _id: "10", tag: "b", any: 3, list: [2, 1, 2] },
			{ _id: "2", tag: "a", any: "3", list: ["x", null] },
			{ _id: "z", tag: "b", any: null, list: [] },
			{ _id: "y", tag: "a", any: true, list: [true, false] },
			{ _id: "x", any: { $$date: 5 }, list: [[1], [1]] },
			{ _id: "1", tag: "a", any: -0, list: [0] },
			{ _id: "w", tag: "b", any: 0 }
		];
		const { own, ours, ownError, oursError } = await loadBoth(
			lines(docs) + indexLines([{ fieldName: "tag" }, { fieldName: "any" }, { fieldName: "list" }, { fieldName: "any", sparse: true, unique: false }])
		);
		assert.equal(ownError, undefined);
		assert.equal(oursError, undefined);
		assertSameStore(own, ours);
	});

	test("more corrupt lines than NeDB tolerates: the same error; fewer: skipped as NeDB skips them", async () => {
		const docs = lines(messages(20));
		const tooMany = await loadBoth(docs + "not json\n{broken\n[1,\nnull\n");
		assert.ok(tooMany.ownError);
		assert.equal(tooMany.oursError?.message, tooMany.ownError.message);
		const few = await loadBoth(docs + "not json\n");
		assert.equal(few.oursError, undefined);
		assertSameStore(few.own, few.ours);
	});

	test("a file larger than one read, with a line longer than one read, and no newline at the end", async () => {
		const docs = messages(30_000, 300);
		const long = { _id: "long", content: "é".repeat(3 << 20) };
		const text = lines(docs.slice(0, 15_000)) + lines([long]) + lines(docs.slice(15_000)) + indexLines(MESSAGE_INDEXES);
		const { own, ours, ownError, oursError } = await loadBoth(text.slice(0, -1));
		assert.equal(ownError, undefined);
		assert.equal(oursError, undefined);
		assertSameStore(own, ours);
	});

	test("a last line cut short (a crash mid-write) is skipped and ended: the next append stands on its own line and survives the next load", async () => {
		const file = path.join(root, "torn.db");
		const whole = lines(messages(30));
		writeFileSync(file, whole + JSON.stringify({ _id: "torn", content: "half" }).slice(0, 20));
		const first = datastoreWithoutLoadRewrite(file) as unknown as Loaded & { loadReport: unknown };
		await first.loadDatabaseAsync();
		assert.equal(first.getAllData().length, 30);
		assert.deepEqual({ ...(first.loadReport as object), modifiedAt: undefined }, { lines: 31, corrupt: 1, unterminated: true, modifiedAt: undefined });
		assert.ok(readFileSync(file, "utf8").endsWith("\n"));
		await first.insertAsync({ _id: "after", content: "stored after the crash" });
		const second = datastoreWithoutLoadRewrite(file) as unknown as Loaded;
		await second.loadDatabaseAsync();
		assert.ok(
			second.getAllData().some(d => d._id === "after"),
			"the document written after the torn line is there"
		);
		assert.equal(second.getAllData().length, 31);
		// A last document complete but for its newline is kept, and the file ended after it.
		writeFileSync(file, whole + JSON.stringify({ _id: "whole" }));
		const third = datastoreWithoutLoadRewrite(file) as unknown as Loaded;
		await third.loadDatabaseAsync();
		assert.ok(third.getAllData().some(d => d._id === "whole"));
		assert.ok(readFileSync(file, "utf8").endsWith('{"_id":"whole"}\n'));
	});

	test("ensureIndex on loaded documents builds the same index as NeDB's, and fails as it does on a duplicate", async () => {
		const { own, ours } = await loadBoth(lines(messages(2000)));
		for (const index of [...MESSAGE_INDEXES, { fieldName: "senderId" }]) {
			await own.ensureIndexAsync(index);
			await ours.ensureIndexAsync(index);
		}
		assertSameStore(own, ours);
		const ownError = await own.ensureIndexAsync({ fieldName: "groupId", unique: true }).catch((err: Error) => err);
		const oursError = await ours.ensureIndexAsync({ fieldName: "groupId", unique: true }).catch((err: Error) => err);
		assert.ok(ownError instanceof Error);
		assert.equal((oursError as Error).message, ownError.message);
		assert.equal(ours.indexes.groupId, undefined);
		// The index lines were appended: a restart loads them, as NeDB's own load of the same file does.
		const restarted = await loadBoth(readFileSync(path.join(root, `f${files - 1}-ours.db`), "utf8"));
		assert.deepEqual(Object.keys(restarted.ours.indexes), ["_id", ...MESSAGE_INDEXES.map(index => index.fieldName), "senderId"]);
		assertSameStore(restarted.own, restarted.ours);
	});

	test("a message whose text holds U+2028 loads whole (NeDB's own line splitting takes it for two corrupt lines)", async () => {
		const docs = [...messages(50), { _id: "sep", content: "one\u2028two\u2029three\u0085" }];
		const { ours, oursError } = await loadBoth(lines(docs));
		assert.equal(oursError, undefined);
		assert.equal((ours.getAllData().find(doc => doc._id === "sep") as unknown as { content: string }).content, "one\u2028two\u2029three\u0085");
	});
});
