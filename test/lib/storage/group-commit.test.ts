import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { GroupCommit } from "../../../lib/storage/group-commit.ts";
import { openNedbCollection } from "../../helpers/nedb-file.ts";

const root = mkdtempSync(path.join(tmpdir(), "group-commit-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

interface Doc {
	_id: string;
	n: number;
}

const open = (filename: string) => openNedbCollection<Doc>(filename);

const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);

describe("GroupCommit", () => {
	test("sends of one turn go to the file in one append, in order, each answered only once it is written", async () => {
		const file = path.join(root, "batch.db");
		const { docs, commit } = await open(file);
		const answered = await Promise.all(
			Array.from({ length: 50 }, async (_, i) => {
				await docs.insert({ _id: `d${i}`, n: i });
				return lines(file).some(l => l.includes(`"d${i}"`));
			})
		);
		assert.ok(answered.every(Boolean), "every answer came after its line was in the file");
		assert.equal(commit.appends, 1);
		assert.deepEqual(
			lines(file).map(l => JSON.parse(l)._id),
			Array.from({ length: 50 }, (_, i) => `d${i}`)
		);
		await docs.updateMany({ _id: "d3" }, { $set: { n: 300 } });
		await docs.removeById("d4");
		commit.close();
		const reopened = await open(file);
		assert.equal(await reopened.docs.count(), 49);
		assert.equal((await reopened.docs.findById("d3"))?.n, 300);
		reopened.commit.close();
	});

	test("a read waits for the write queued before it", async () => {
		const file = path.join(root, "read.db");
		const { docs, commit } = await open(file);
		const write = docs.insert({ _id: "a", n: 1 });
		const found = await docs.findById("a");
		assert.equal(found?.n, 1);
		assert.ok(
			lines(file).some(l => l.includes('"a"')),
			"the read answered only once the line was written"
		);
		await write;
		commit.close();
	});

	test("a compaction between queued and later writes keeps every write exactly once", async () => {
		const file = path.join(root, "compact.db");
		const { docs, commit, db } = await open(file);
		const before = Array.from({ length: 10 }, (_, i) => docs.insert({ _id: `b${i}`, n: i }));
		const compaction = db.compactDatafileAsync();
		const later = Array.from({ length: 10 }, (_, i) => docs.insert({ _id: `l${i}`, n: i }));
		await Promise.all([...before, compaction, ...later]);
		await docs.updateMany({ _id: "b1" }, { $set: { n: 100 } });
		commit.close();
		const ids = lines(file)
			.map(l => JSON.parse(l)._id)
			.filter(Boolean);
		assert.equal(new Set(ids).size, 20, "every document is in the file");
		const reopened = await open(file);
		assert.equal(await reopened.docs.count(), 20);
		assert.equal((await reopened.docs.findById("b1"))?.n, 100);
		reopened.commit.close();
	});

	test("a failed write is reported to its callers and its lines go out, in order, with the next batch", async () => {
		const dir = path.join(root, "gone");
		mkdirSync(dir);
		const file = path.join(dir, "fail.db");
		const { docs, commit } = await open(file);
		await docs.insert({ _id: "first", n: 1 });
		commit.close();
		rmSync(dir, { recursive: true });
		const unavailable = (err: { code?: unknown; type?: unknown; cause?: { code?: unknown } }) =>
			err.code === 503 && err.type === "STORAGE_UNAVAILABLE" && err.cause?.code === "ENOENT";
		await assert.rejects(docs.insert({ _id: "second", n: 2 }), unavailable);
		// "second" is in memory, not on disk: nothing answers from the store until it is written (a retried send would be told it was stored).
		await assert.rejects(docs.findById("second"), unavailable);
		await assert.rejects(docs.findById("first"), unavailable);
		assert.ok(GroupCommit.failing.has(file), "the readiness probe reports the store");
		mkdirSync(dir);
		await docs.insert({ _id: "third", n: 3 });
		assert.deepEqual(
			lines(file).map(l => JSON.parse(l)._id),
			["second", "third"]
		);
		assert.equal(GroupCommit.failing.has(file), false);
		assert.equal((await docs.findById("second"))?.n, 2);
		commit.close();
	});

	test("after a failed write the store tries again by itself on a later read, at most once a second", async () => {
		const dir = path.join(root, "back");
		mkdirSync(dir);
		const file = path.join(dir, "retry.db");
		const { docs, commit } = await open(file);
		commit.close();
		rmSync(dir, { recursive: true });
		await assert.rejects(docs.insert({ _id: "lost?", n: 1 }), { type: "STORAGE_UNAVAILABLE" });
		mkdirSync(dir);
		await assert.rejects(docs.findById("lost?"), { type: "STORAGE_UNAVAILABLE" }, "within the second: not tried yet");
		await new Promise(resolve => setTimeout(resolve, 1100));
		assert.equal((await docs.findById("lost?"))?.n, 1);
		assert.deepEqual(
			lines(file).map(l => JSON.parse(l)._id),
			["lost?"]
		);
		commit.close();
	});
});
