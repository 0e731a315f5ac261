import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { SERVER_NODE_FLAGS } from "./lib/targets.ts";
import { seedMessages } from "./scenarios/history.ts";

/**
 * The embedded store at scale: NeDB keeps every document in memory and reads its whole file at start. For each
 * size, writes a messages datafile directly (NeDB's line format, as S4 seeds it), then opens it twice in a fresh
 * process (bench/lib/store-open.ts) the way the messages service does: the first start builds the indexes of a
 * file that has none, the second is an ordinary restart; `--nedb-own` adds a restart with NeDB's own load, for
 * comparison. Prints the start time, its CPU time (the process's, GC threads included), the RSS after GC, the
 * highest RSS and the time of a full GC of the loaded heap, of each. Each child runs with the node's flags and
 * Node's default heap limit, as `npm start` runs it (`--max-old-space <MB>` raises the limit).
 *
 * `--compact` then compacts the file in a fresh process (bench/lib/store-compact.ts), NeDB's way and ours in
 * turn, twice, while a message is written every 5 ms: the longest event-loop block, time and RSS of each.
 *
 *   npm run bench:store -- --messages 1000000,5000000 --nedb-own --compact
 */
const { values } = parseArgs({
	options: {
		messages: { type: "string", default: "1000000" },
		// MB; none: Node's default heap limit, as `npm start` runs the node (about 4 GB here).
		"max-old-space": { type: "string", default: "" },
		"nedb-own": { type: "boolean", default: false },
		compact: { type: "boolean", default: false }
	}
});
const ROOT = path.resolve(import.meta.dirname, "..");
const HEAP_LIMIT = values["max-old-space"] ? [`--max-old-space-size=${values["max-old-space"]}`] : [];

/** Runs a measuring script on the store in `dir` in a fresh process, as `npm start` runs the node; its last line of output, parsed. */
function measuredInChild(script: string, dir: string, variant: string): Record<string, number> {
	const out = execFileSync(
		process.execPath,
		[
			// The node's own flags (npm start): the young generation's size decides how often a load scavenges.
			...SERVER_NODE_FLAGS,
			"--expose-gc",
			...HEAP_LIMIT,
			"--disable-warning=DEP0174",
			path.join(ROOT, script),
			dir,
			variant
		],
		{ encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "pipe"] }
	);
	return JSON.parse(out.trim().split("\n").pop()!);
}
for (const count of values.messages.split(",").map(Number)) {
	const dir = mkdtempSync(path.join(tmpdir(), "store-scale-"));
	try {
		const seeded = Date.now();
		await seedMessages(dir, "a".repeat(24), "b".repeat(24), count);
		const fileMB = Math.round(statSync(path.join(dir, "messages.db")).size / 2 ** 20);
		console.log(`${count} messages: datafile ${fileMB} MB written in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
		const starts = [
			["first start (its indexes built)", "ours"],
			["restart", "ours"],
			...(values["nedb-own"] ? [["restart with NeDB's own load (reviver, file rewritten)", "nedb"]] : [])
		];
		for (const [start, loader] of starts) {
			let r: Record<string, number>;
			try {
				r = measuredInChild("bench/lib/store-open.ts", dir, loader);
			} catch (err) {
				// NeDB's own load of millions of messages runs out of the default heap: say so, and go on.
				const stderr = String((err as { stderr?: unknown }).stderr ?? "");
				console.log(`  ${start}: failed: ${stderr.match(/FATAL ERROR:.*/)?.[0] ?? (err as Error).message.split("\n")[0]}`);
				continue;
			}
			console.log(
				`  ${start}: ${r.documents} documents, load ${r.loadSeconds.toFixed(1)} s, with indexes ${r.startSeconds.toFixed(1)} s (CPU ${r.cpuSeconds.toFixed(1)} s); ` +
					`RSS ${Math.round(r.rssMB)} MB, heap ${Math.round(r.heapMB)} MB, peak RSS ${Math.round(r.peakRssMB)} MB; a full GC ${Math.round(r.fullGcMs)} ms`
			);
		}
		for (const compaction of values.compact ? ["nedb", "ours", "nedb", "ours"] : []) {
			const r = measuredInChild("bench/lib/store-compact.ts", dir, compaction);
			console.log(
				`  compaction (${compaction === "nedb" ? "NeDB's" : "ours"}): longest event-loop block ${Math.round(r.longestBlockMs)} ms (${Math.round(r.longestBlockCpuMs)} ms of CPU; p99 ${Math.round(r.loopP99Ms)} ms), ` +
					`${r.wallSeconds.toFixed(1)} s, CPU ${r.cpuSeconds.toFixed(1)} s; RSS ${Math.round(r.rssBeforeMB)} → peak ${Math.round(r.rssPeakMB)} MB; ` +
					`${r.writesDuring} writes meanwhile, slowest answered in ${Math.round(r.slowestWriteMs)} ms; file ${Math.round(r.fileMBBefore)} → ${Math.round(r.fileMBAfter)} MB`
			);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
