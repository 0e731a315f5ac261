import { performance } from "node:perf_hooks";
import path from "node:path";
import DbService from "moleculer-db";
import { nedbIndexesOf, partitionIndexKeys } from "../../lib/storage/nedb-keys.ts";
import { MESSAGE_INDEXES } from "../../services/messages/message-indexes.ts";

/**
 * Child of bench/store-scale.ts: opens `messages.db` in the given directory as the messages service does
 * (NeDB load, then its indexes), and prints the time each part took and the memory after two full GCs.
 * With `nedb` as second argument, NeDB's own load (its reviver, a rewrite of the file on every load, its AVL trees:
 * our load, imported only otherwise, puts sorted chunks in every index of the process).
 */
const dir = process.argv[2];
const nedbOwn = process.argv[3] === "nedb";
const filename = path.join(dir, "messages.db");
const indexes = nedbIndexesOf(MESSAGE_INDEXES);
const ours = nedbOwn ? null : await import("../../lib/storage/nedb-load.ts");
if (ours) {
	ours.useFastDeserialize();
	partitionIndexKeys(indexes);
}
const gc = (globalThis as { gc?: () => void }).gc!;
const started = performance.now();
const cpuStarted = process.cpuUsage();
const adapter = new DbService.MemoryAdapter(ours ? ours.datastoreWithoutLoadRewrite(filename) : { filename, autoload: false }) as unknown as {
	init(broker: unknown, service: unknown): void;
	connect(): Promise<void>;
	db: { ensureIndex(o: object): Promise<void>; getAllData(): unknown[] };
};
adapter.init(null, { logger: console });
await adapter.connect();
const loadedMs = performance.now() - started;
for (const { fieldName, unique, sparse } of indexes) await adapter.db.ensureIndex({ fieldName, unique, sparse });
const indexedMs = performance.now() - started;
const cpu = process.cpuUsage(cpuStarted);
gc();
// A second full collection finds nothing to free: its time is that of marking the whole heap, the pause that a
// full GC of this store costs the node (V8 marks incrementally while it runs, but the work is the same).
const gcStarted = performance.now();
gc();
const fullGcMs = performance.now() - gcStarted;
const { rss, heapUsed } = process.memoryUsage();
console.log(
	JSON.stringify({
		documents: adapter.db.getAllData().length,
		loadSeconds: loadedMs / 1000,
		startSeconds: indexedMs / 1000,
		cpuSeconds: (cpu.user + cpu.system) / 1e6,
		peakRssMB: process.resourceUsage().maxRSS / 2 ** 10,
		fullGcMs,
		rssMB: rss / 2 ** 20,
		heapMB: heapUsed / 2 ** 20
	})
);
