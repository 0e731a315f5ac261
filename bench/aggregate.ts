import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "./lib/child.ts";
import type { RunFile } from "./lib/results.ts";
import { renderRun } from "./report.ts";

/**
 * Medians and spread over result files: `npm run bench:aggregate -- [files…] [--write]`.
 * Without files: every full (non-quick) run under bench/results/. --write replaces the section between
 * the RESULTS markers of docs/BENCHMARKS.md; otherwise the markdown goes to stdout.
 */
const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: { write: { type: "boolean", default: false }, quick: { type: "boolean", default: false } }
});
const dir = path.join(ROOT, "bench/results");
const files = positionals.length
	? positionals
	: readdirSync(dir)
			.filter(f => f.endsWith(".json") && (values.quick || !f.endsWith("-quick.json")))
			.map(f => path.join(dir, f));
if (files.length === 0) {
	console.error("No result files (full runs are picked by default; --quick includes quick ones).");
	process.exit(1);
}
const runs = files.map(f => JSON.parse(readFileSync(f, "utf8")) as RunFile);
const first = runs[0];
const header = [
	`Machine: ${first.machine.cpus}, ${first.machine.cores} cores, ${first.machine.memoryGB} GB, ${first.machine.platform}.`,
	`Versions: ${Object.entries(first.versions)
		.map(([k, v]) => `${k} ${v}`)
		.join(", ")}.`,
	`Commands: ${[...new Set(runs.map(r => "`" + r.command + "`"))].join(", ")}; runs from ${runs.map(r => r.startedAt).sort()[0]} to ${runs
		.map(r => r.finishedAt)
		.sort()
		.at(-1)}.`,
	...first.notes
].join("\n");
const markdown = `${header}\n\n${renderRun(runs)}\n`;

if (values.write) {
	const doc = path.join(ROOT, "docs/BENCHMARKS.md");
	const text = readFileSync(doc, "utf8");
	const begin = "<!-- RESULTS:BEGIN -->";
	const end = "<!-- RESULTS:END -->";
	const a = text.indexOf(begin);
	const b = text.indexOf(end);
	if (a < 0 || b < a) throw new Error(`docs/BENCHMARKS.md has no ${begin} … ${end} section`);
	writeFileSync(doc, `${text.slice(0, a + begin.length)}\n${markdown}${text.slice(b)}`);
	console.log(`docs/BENCHMARKS.md: results of ${runs.length} runs written`);
} else {
	console.log(markdown);
}
