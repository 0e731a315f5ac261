import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { compactionDue, MIN_GROWTH_BYTES, type CompactionResult } from "../../../lib/storage/compaction.ts";
import type { GroupCommit } from "../../../lib/storage/group-commit.ts";
import { startTestApp, tempDataDir } from "../../helpers/app.ts";
import { openNedbCollection, type NedbFileDatastore } from "../../helpers/nedb-file.ts";

const root = mkdtempSync(path.join(tmpdir(), "compaction-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

interface Doc {
	_id: string;
	n: number;
	pad?: string;
}

/** Slices small enough that a few thousand documents take many event-loop turns. */
const SLICES = { sliceMs: 0.2, sliceChars: 2000 };

const byId = (docs: { _id: string }[]) => [...docs].sort((a, b) => a._id.localeCompare(b._id));

/** A datafile of `count` documents, each written `versions` times. */
async function filled(file: string, count: number, versions: number) {
	const opened = await openNedbCollection<Doc>(file, SLICES);
	await Promise.all(Array.from({ length: count }, (_, i) => opened.docs.insert({ _id: `d${i}`, n: 0, pad: "p".repeat(100) })));
	for (let v = 1; v < versions; v++) await opened.docs.updateMany({}, { $set: { n: v } });
	return opened;
}

describe("DatafileCompaction", () => {
	test("inserts, updates and removes made while it runs all survive a reload, and the file shrinks", async () => {
		const file = path.join(root, "during.db");
		const { docs, commit, db } = await filled(file, 3000, 4);
		await db.ensureIndex({ fieldName: "n" });
		const before = statSync(file).size;
		let finished = false;
		const compaction = commit.compaction.run().finally(() => (finished = true));
		let during = 0;
		for (let k = 0; !finished; k++) {
			await docs.insert({ _id: `new${k}`, n: k });
			await docs.updateById(`d${k}`, { $set: { n: -1 - k } });
			await docs.removeById(`d${2999 - k}`);
			during++;
		}
		const result = await compaction;
		assert.ok(result.done);
		assert.ok(during > 3, `writes went on during the compaction (${during} rounds)`);
		await docs.insert({ _id: "after", n: 1 });
		const expected = byId(db.getAllData());
		commit.close();
		assert.ok(statSync(file).size < before / 2, `the file shrank: ${before} → ${statSync(file).size} bytes`);
		assert.equal(existsSync(`${file}~`), false);

		const reopened = await openNedbCollection<Doc>(file);
		assert.deepEqual(byId(reopened.db.getAllData()), expected);
		assert.equal(await reopened.docs.count(), 3000 + 1);
		assert.ok("n" in reopened.db.indexes, "the index line is kept");
		reopened.commit.close();
	});

	test("NeDB's own compaction call runs it, and a second call joins the one under way", async () => {
		const file = path.join(root, "joined.db");
		const { commit, db } = await filled(file, 500, 3);
		const first = commit.compaction.run();
		assert.equal(commit.compaction.run(), first);
		await Promise.all([first, db.compactDatafileAsync()]);
		commit.close();
		const reopened = await openNedbCollection<Doc>(file);
		assert.equal(await reopened.docs.count(), 500);
		assert.equal((await reopened.docs.findById("d7"))?.n, 2);
		reopened.commit.close();
	});

	test("stopped while it runs, it is abandoned: no temp file, the datafile as the writes left it", async () => {
		const file = path.join(root, "stopped.db");
		const { docs, commit, db } = await filled(file, 3000, 2);
		const compaction = commit.compaction.run();
		await docs.insert({ _id: "during", n: 1 });
		while (!existsSync(`${file}~`)) await new Promise(resolve => setImmediate(resolve));
		const grown = statSync(file).size;
		await commit.compaction.stop();
		assert.equal((await compaction).done, false);
		assert.equal(existsSync(`${file}~`), false);
		assert.equal(statSync(file).size, grown, "the datafile was not rewritten");
		const expected = byId(db.getAllData());
		commit.close();
		const reopened = await openNedbCollection<Doc>(file);
		assert.deepEqual(byId(reopened.db.getAllData()), expected);
		reopened.commit.close();
	});

	test("closing the group commit abandons it: it renames nothing and removes its temp file", async () => {
		const file = path.join(root, "closed.db");
		const { commit } = await filled(file, 3000, 2);
		const size = statSync(file).size;
		const compaction = commit.compaction.run();
		while (!existsSync(`${file}~`)) await new Promise(resolve => setImmediate(resolve));
		commit.close();
		assert.equal(existsSync(`${file}~`), false);
		assert.equal((await compaction).done, false);
		assert.equal(existsSync(`${file}~`), false);
		assert.equal(statSync(file).size, size);
	});

	test("a temp file left by a crash is ignored on load and removed", async () => {
		const file = path.join(root, "leftover.db");
		const { commit } = await filled(file, 100, 2);
		commit.close();
		writeFileSync(`${file}~`, '{"_id":"d1","n":99}\n{"_id":"half');
		const reopened = await openNedbCollection<Doc>(file);
		assert.equal(await reopened.docs.count(), 100);
		assert.equal((await reopened.docs.findById("d1"))?.n, 1);
		assert.equal(existsSync(`${file}~`), false);
		reopened.commit.close();
	});

	for (const killedAt of ["compacting", "compacted"]) {
		test(`a process killed once ${killedAt === "compacting" ? "a compaction is under way" : "a compaction renamed its file"} leaves every acknowledged write`, async () => {
			const file = path.join(root, `killed-${killedAt}.db`);
			const child = spawn(process.execPath, ["--disable-warning=DEP0174", path.join(import.meta.dirname, "compaction-child.ts"), file], {
				stdio: ["ignore", "pipe", "inherit"]
			});
			const acked = { inserts: [] as string[], counter: 0 };
			let seen = 0;
			let buffered = "";
			await new Promise<void>((resolve, reject) => {
				child.on("exit", code => reject(new Error(`child exited (${code}) before it was killed`)));
				child.stdout.on("data", (chunk: Buffer) => {
					buffered += chunk.toString();
					const lines = buffered.split("\n");
					buffered = lines.pop()!;
					for (const line of lines) {
						const [what, value] = line.split(" ");
						if (what === "insert") acked.inserts.push(value);
						if (what === "update") acked.counter = Number(value);
						// Kill a few writes after the mark, with the compaction (and the next one) going on.
						if (what === killedAt && !seen) seen = 1;
						else if (seen && ++seen === 40) {
							child.removeAllListeners("exit");
							child.kill("SIGKILL");
							child.once("exit", () => resolve());
						}
					}
				});
			});
			const reopened = await openNedbCollection<Doc>(file);
			const counter = await reopened.docs.findById("counter");
			assert.ok(counter && counter.n >= acked.counter, `counter ${counter?.n} ≥ acknowledged ${acked.counter}`);
			const missing = [];
			for (const id of acked.inserts) if (!(await reopened.docs.findById(id))) missing.push(id);
			assert.deepEqual(missing, []);
			assert.equal(await reopened.docs.count({ _id: { $regex: /^seed/ } }), 2000);
			assert.equal((await reopened.docs.findById("seed1999"))?.n, 2);
			reopened.commit.close();
		});
	}

	test(
		"a service stopped during a compaction ends it before its files close, and the node starts again with every document",
		{ skip: !!process.env.MONGODB_URI && "uses NeDB files" },
		async () => {
			const data = tempDataDir();
			try {
				const storage = { kind: "nedb" as const, dir: data.dir };
				const reactionsOf = (app: Awaited<ReturnType<typeof startTestApp>>) =>
					(app.broker.getLocalService("messages") as unknown as { db: { reactions: { adapter: { db: NedbFileDatastore; commit: GroupCommit } } } }).db.reactions
						.adapter;
				let app = await startTestApp({ storage });
				const reactions = reactionsOf(app);
				await reactions.db.insertAsync(Array.from({ length: 20_000 }, (_, i) => ({ _id: `r${i}`, messageId: "m", userId: `u${i}`, emoji: "👍" })));
				await reactions.commit.pending();
				let settled: CompactionResult | null = null;
				void reactions.commit.compaction.run().then(result => (settled = result));
				await app.broker.destroyService(app.broker.getLocalService("messages")!);
				assert.ok(settled, "the compaction settled before the service had stopped");
				await app.stop();
				assert.equal(existsSync(path.join(data.dir, "reactions.db~")), false);
				assert.equal(existsSync(path.join(data.dir, ".lock")), false);
				app = await startTestApp({ storage });
				try {
					assert.equal(reactionsOf(app).db.getAllData().length, 20_000);
				} finally {
					await app.stop();
				}
			} finally {
				data.remove();
			}
		}
	);

	test("a file is due once what was appended since its compaction outweighs it, past a minimum", () => {
		assert.equal(compactionDue(MIN_GROWTH_BYTES, 0), false);
		assert.equal(compactionDue(MIN_GROWTH_BYTES + 1, 0), true);
		assert.equal(compactionDue(2 * 100e6, 100e6), false);
		assert.equal(compactionDue(2 * 100e6 + 1, 100e6), true);
	});

	test("the watch compacts a file grown past its due size", async () => {
		const file = path.join(root, "watched.db");
		const { docs, commit, db } = await openNedbCollection<Doc>(file);
		const compacted = new Promise<void>(resolve => db.on("compaction.done", resolve));
		commit.compaction.watch(err => assert.fail(err as Error), 10);
		const pad = "w".repeat(1000);
		for (let round = 0; statSync(file).size <= MIN_GROWTH_BYTES; round++) {
			await Promise.all(Array.from({ length: 500 }, (_, i) => docs.insert({ _id: `r${round}-${i}`, n: 0, pad }).then(() => docs.removeById(`r${round}-${i}`))));
		}
		// The watch's timer does not hold the process open; the test waits for it.
		const alive = setInterval(() => undefined, 1000);
		await compacted;
		clearInterval(alive);
		await commit.compaction.stop();
		commit.close();
		assert.ok(statSync(file).size < MIN_GROWTH_BYTES / 2);
	});
});
