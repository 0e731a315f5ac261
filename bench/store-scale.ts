import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { seedMessages } from "./scenarios/history.ts";

/**
 * The embedded store at scale: NeDB keeps every document in memory and reads its whole file at start. For each
 * size, writes a messages datafile directly (NeDB's line format, as S4 seeds it), then opens it twice in a fresh
 * process (bench/lib/store-open.ts) the way the messages service does: the first start builds the indexes of a
 * file that has none, the second is an ordinary restart; `--nedb-own` adds a restart with NeDB's own load, for
 * comparison. Prints the start time and RSS after GC of each.
 *
 *   npm run bench:store -- --messages 1000000,5000000 --nedb-own
 */
const { values } = parseArgs({
	options: {
		messages: { type: "string", default: "1000000" },
		"max-old-space": { type: "string", default: "16384" },
		"nedb-own": { type: "boolean", default: false }
	}
});
const ROOT = path.resolve(import.meta.dirname, "..");
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
			const out = execFileSync(
				process.execPath,
				[
					"--expose-gc",
					`--max-old-space-size=${values["max-old-space"]}`,
					"--disable-warning=DEP0174",
					path.join(ROOT, "bench/lib/store-open.ts"),
					dir,
					loader
				],
				{ encoding: "utf8", maxBuffer: 1 << 20 }
			);
			const r = JSON.parse(out.trim().split("\n").pop()!);
			console.log(
				`  ${start}: ${r.documents} documents, load ${r.loadSeconds.toFixed(1)} s, with indexes ${r.startSeconds.toFixed(1)} s; RSS ${Math.round(r.rssMB)} MB, heap ${Math.round(r.heapMB)} MB`
			);
		}
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}
