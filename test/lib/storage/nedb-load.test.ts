import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Datastore, datastoreWithoutLoadRewrite, useFastDeserialize } from "../../../lib/storage/nedb-load.ts";

const root = mkdtempSync(path.join(tmpdir(), "nedb-load-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

type Loaded = { loadDatabaseAsync(): Promise<void>; getAllData(): { _id: string }[]; compactDatafileAsync(): Promise<void> };

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

describe("NeDB load", () => {
	test("the fast deserialize loads the same documents as NeDB's reviver, and the load leaves the file as it was", async () => {
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
});
