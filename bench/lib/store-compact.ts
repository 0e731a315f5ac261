import { statSync } from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import DbService from "moleculer-db";
import { GroupCommit, type NedbFile } from "../../lib/storage/group-commit.ts";
import { datastoreWithoutLoadRewrite } from "../../lib/storage/nedb-load.ts";

/**
 * Child of bench/store-scale.ts --compact: opens `messages.db` in the given directory as the messages service
 * does (its indexes are those the first start wrote into the file), then compacts it once, `nedb` (NeDB's compactDatafileAsync: every line serialized in one go, then
 * written) or `ours` (lib/storage/compaction.ts), while a writer inserts a message every 5 ms through the
 * group commit. Prints the longest event-loop block during the compaction (wall, and main-thread CPU), its wall and CPU time, the RSS
 * before and its peak (sampled every 20 ms, and the process's maxRSS), and the slowest write answer.
 */
const dir = process.argv[2];
const which = process.argv[3] as "nedb" | "ours";
const filename = path.join(dir, "messages.db");
const adapter = new DbService.MemoryAdapter(datastoreWithoutLoadRewrite(filename)) as unknown as {
	init(broker: unknown, service: unknown): void;
	connect(): Promise<void>;
	db: NedbFile & {
		insertAsync(doc: object): Promise<unknown>;
		compactDatafileAsync(): Promise<void>;
		getAllData(): object[];
	};
};
adapter.init(null, { logger: console });
await adapter.connect();
const db = adapter.db;
// NeDB's own compaction, the one GroupCommit replaces, run as GroupCommit ran it before: what is queued
// goes to the old file first (NeDB's executor holds every other operation meanwhile), the next batch opens the new one.
const nedbCompaction = db.persistence.persistCachedDatabaseAsync;
const commit = new GroupCommit(db);
if (which === "nedb") {
	db.persistence.persistCachedDatabaseAsync = async () => {
		commit.writeQueued();
		commit.reopen();
		await nedbCompaction.call(db.persistence);
	};
}
const gc = (globalThis as { gc?: () => void }).gc!;
gc();
gc();
const fileBefore = statSync(filename).size;
const rssBefore = process.memoryUsage().rss;

let writes = 0;
let slowestWriteMs = 0;
let n = 0;
const run = `${which}-${Date.now().toString(36)}`;
const writer = setInterval(() => {
	const asked = performance.now();
	void db
		.insertAsync({ _id: `${run}-${n++}`, groupId: "c".repeat(24), seq: n, groupSeq: `${run}:${n}`, content: "written during the compaction" })
		.then(async () => {
			await commit.pending();
			writes++;
			slowestWriteMs = Math.max(slowestWriteMs, performance.now() - asked);
		});
}, 5);
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
// The main thread's CPU time between two ticks of a 1 ms timer: the longest block as the node itself spent it,
// whatever other processes on a shared machine took of the wall time meanwhile.
let lastCpu = process.threadCpuUsage();
let longestBlockCpuMs = 0;
const ticker = setInterval(() => {
	const now = process.threadCpuUsage();
	longestBlockCpuMs = Math.max(longestBlockCpuMs, (now.user - lastCpu.user + now.system - lastCpu.system) / 1000);
	lastCpu = now;
}, 1);
const cpu = process.cpuUsage();
const started = performance.now();
const result = which === "nedb" ? await db.compactDatafileAsync() : await commit.compaction.run();
const wallMs = performance.now() - started;
const cpuUsed = process.cpuUsage(cpu);
loop.disable();
clearInterval(ticker);
rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
clearInterval(writer);
clearInterval(sampler);
await new Promise(resolve => setTimeout(resolve, 50));
commit.close();
console.log(
	JSON.stringify({
		which,
		documents: db.getAllData().length,
		fileMBBefore: fileBefore / 2 ** 20,
		fileMBAfter: statSync(filename).size / 2 ** 20,
		longestBlockMs: loop.max / 1e6,
		longestBlockCpuMs,
		loopP99Ms: loop.percentile(99) / 1e6,
		wallSeconds: wallMs / 1000,
		cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
		rssBeforeMB: rssBefore / 2 ** 20,
		rssPeakMB: rssPeak / 2 ** 20,
		maxRssMB: process.resourceUsage().maxRSS / 2 ** 10,
		writesDuring: writes,
		slowestWriteMs,
		finalStepMs: result?.finalStepMs
	})
);
