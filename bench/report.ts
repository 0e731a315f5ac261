import type { TargetKind } from "./generator/protocol.ts";
import type { RunFile, ScenarioId, ScenarioResult } from "./lib/results.ts";
import { TARGET_LABEL } from "./lib/targets.ts";

/** Markdown tables of one or more runs: medians over the valid runs, with min–max spread. */

const TITLES: Record<ScenarioId, string> = {
	S0: "S0 idle connections (one gateway node)",
	S1: "S1 direct messages (pairs)",
	S2: "S2 groups of 100",
	S3: "S3 groups of 1,000",
	S4: "S4 history page of 50 while S1 runs",
	S5: "S5 reconnect storm (20% of clients dropped)",
	S6: "S6 overload: 3× the sustained maximum, open loop",
	S7: "S7 handshakes (valid token, rooms joined, presence online)"
};

const LADDER: [string, string][] = [
	["sustainedMsgsPerSec", "kept up at msg/s"],
	["saturated", "limit found"],
	["maxStoredPerSec", "max stored/s"],
	["maxDeliveriesPerSec", "max deliveries/s"],
	["halfRateMsgsPerSec", "half rate msg/s"],
	["p99AtHalfMs", "p99 at half rate ms"],
	["p99AtSustainedMs", "p99 at kept-up rate ms"],
	["ackP99AtSustainedMs", "ack p99 ms"],
	["cpuMsPerMessage", "CPU ms/msg"],
	["cpuUsPerDelivery", "CPU µs/delivery"],
	["lost", "lost"],
	["duplicates", "dup"],
	["outOfOrder", "out of order"]
];

export const COLUMNS: Record<ScenarioId, [string, string][]> = {
	S0: [
		["connections", "sockets"],
		["rssMB", "RSS MB"],
		["heapUsedMB", "heap MB"],
		["rssPerConnectionKB", "RSS KB/socket"],
		["heapPerConnectionKB", "heap KB/socket"],
		["connectP50Ms", "connect p50 ms"],
		["connectP99Ms", "connect p99 ms"],
		["failed", "errors"]
	],
	S1: [...LADDER.slice(0, 10), ["maxRateWithP99Under50Ms", "max msg/s with p99 < 50 ms"], ...LADDER.slice(10)],
	S2: LADDER,
	S3: LADDER,
	S4: [
		["storedMessages", "stored messages"],
		["historyP50Ms", "page p50 ms"],
		["historyP99Ms", "page p99 ms"],
		["historyP999Ms", "page p99.9 ms"],
		["historyErrors", "page errors"],
		["s1RateMsgsPerSec", "S1 msg/s"],
		["s1DeliveryP99Ms", "S1 p99 ms"],
		["lost", "lost"],
		["duplicates", "dup"]
	],
	S5: [
		["clients", "clients"],
		["dropped", "dropped"],
		["recovered", "recovered"],
		["recoveryP50Ms", "recovery p50 ms"],
		["recoveryP99Ms", "recovery p99 ms"],
		["recoveryMaxMs", "recovery max ms"],
		["lost", "lost after sync"],
		["duplicates", "dup"],
		["outOfOrder", "out of order"]
	],
	S6: [
		["maxPerSec", "max acks/s"],
		["offeredPerSec", "offered/s"],
		["minGoodputRatio", "min goodput / max"],
		["meanGoodputRatio", "mean goodput / max"],
		["answerP99Ms", "answer p99 ms"],
		["maxAnswerMs", "answer max ms"],
		["recoveryRatio", "after / max"],
		["lost", "lost"],
		["duplicates", "dup"]
	],
	S7: [
		["handshakes", "handshakes"],
		["handshakesPerSec", "handshakes/s"],
		["cpuMsPerHandshake", "server CPU ms/handshake"],
		["connectP50Ms", "connect p50 ms"],
		["connectP99Ms", "connect p99 ms"],
		["failed", "errors"]
	]
};

export function median(values: number[]): number {
	const s = [...values].sort((a, b) => a - b);
	const m = Math.floor(s.length / 2);
	return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(n: number): string {
	if (Math.abs(n) >= 100) return String(Math.round(n));
	if (Math.abs(n) >= 10) return n.toFixed(1);
	return String(Math.round(n * 100) / 100);
}

/** "median (min–max)" or "—". */
export function cell(values: (number | null | undefined)[]): string {
	const v = values.filter((x): x is number => x != null && Number.isFinite(x));
	if (v.length === 0) return "—";
	const med = fmt(median(v));
	if (v.length === 1) return med;
	const lo = Math.min(...v);
	const hi = Math.max(...v);
	return lo === hi ? med : `${med} (${fmt(lo)}–${fmt(hi)})`;
}

const modeLabel = (r: Pick<ScenarioResult, "mode" | "variant">) => (r.variant ? `${r.mode} (${r.variant})` : r.mode);
const key = (r: ScenarioResult) => `${r.scenario}|${modeLabel(r)}|${r.target}`;
const ORDER: TargetKind[] = ["ours", "b2", "b1"];

/** Per-run comparisons: ours vs B2 and B2 vs B1 on the same scenario, payloads and group sizes. */
export function comparisons(run: RunFile): { scenario: ScenarioId; mode: string; name: string; value: number }[] {
	const out: { scenario: ScenarioId; mode: string; name: string; value: number }[] = [];
	const find = (s: ScenarioId, mode: string, t: TargetKind) =>
		run.results.find(r => r.scenario === s && r.mode === mode && r.target === t && r.valid && !r.error);
	for (const s of ["S1", "S2", "S3"] as ScenarioId[]) {
		const b2 = find(s, "embedded", "b2");
		const b1 = find(s, "embedded", "b1");
		for (const mode of new Set(run.results.filter(r => r.scenario === s && r.target === "ours").map(modeLabel))) {
			const ours = run.results.find(r => r.scenario === s && modeLabel(r) === mode && r.target === "ours" && r.valid && !r.error);
			if (ours && b2) {
				const o = ours.summary.maxDeliveriesPerSec;
				const b = b2.summary.maxDeliveriesPerSec;
				// If B2 never stopped keeping up, its maximum is higher than measured and the ratio an upper bound.
				if (o != null && b)
					out.push({
						scenario: s,
						mode,
						name: b2.summary.saturated ? "deliveries/s ours ÷ B2" : "deliveries/s ours ÷ B2 (B2 not saturated: upper bound)",
						value: o / b
					});
				// p99 at the same offered rate: our half-rate step, and B2's step at that rate.
				const rate = ours.summary.halfRateMsgsPerSec;
				const oStep = ours.steps.find(x => x.offeredPerSec === rate);
				const bStep = b2.steps.find(x => x.offeredPerSec === rate);
				const lat = (x: typeof oStep) => (x?.lastRecipient ?? x?.delivery)?.p99;
				if (oStep && bStep) out.push({ scenario: s, mode, name: `p99 ours − B2 at our half rate, ms`, value: lat(oStep)! - lat(bStep)! });
			}
		}
		if (b2 && b1 && b2.summary.maxDeliveriesPerSec != null && b1.summary.maxDeliveriesPerSec)
			out.push({
				scenario: s,
				mode: "embedded",
				name: b1.summary.saturated && b2.summary.saturated ? "deliveries/s B2 ÷ B1" : "deliveries/s B2 ÷ B1 (not both saturated)",
				value: b2.summary.maxDeliveriesPerSec / b1.summary.maxDeliveriesPerSec
			});
	}
	return out;
}

export function renderRun(runs: RunFile[]): string {
	const lines: string[] = [];
	const all = runs.flatMap(r => r.results);
	const groups = new Map<string, ScenarioResult[]>();
	for (const r of all) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
	const invalid = all.filter(r => !r.valid);
	const partial = all.filter(r => r.valid && r.invalidReasons.length);
	const scenarios = [...new Set(all.map(r => r.scenario))].sort();
	lines.push(`Runs: ${runs.length}. Cells: median over valid runs (min–max). Valid runs per row in column "n".`);
	for (const s of scenarios) {
		const cols = COLUMNS[s];
		lines.push("", `#### ${TITLES[s]}`, "", `| mode | server | n | ${cols.map(c => c[1]).join(" | ")} |`, `|${"---|".repeat(cols.length + 3)}`);
		const rows = [...groups.entries()].filter(([k]) => k.startsWith(`${s}|`));
		rows.sort(([a], [b]) => {
			const [, ma, ta] = a.split("|");
			const [, mb, tb] = b.split("|");
			return ma.localeCompare(mb) * -10 + ORDER.indexOf(ta as TargetKind) - ORDER.indexOf(tb as TargetKind);
		});
		for (const [, results] of rows) {
			const valid = results.filter(r => r.valid);
			const first = results[0];
			lines.push(
				`| ${modeLabel(first)} | ${TARGET_LABEL[first.target]} | ${valid.length}/${results.length} | ${cols.map(([k]) => cell(valid.map(r => r.summary[k]))).join(" | ")} |`
			);
		}
	}
	const comps = runs.flatMap(comparisons);
	if (comps.length) {
		lines.push("", "#### Ratios (same run, same payloads and group sizes)", "", "| scenario | mode | comparison | median (min–max) |", "|---|---|---|---|");
		const byName = new Map<string, number[]>();
		for (const c of comps) byName.set(`${c.scenario}|${c.mode}|${c.name}`, [...(byName.get(`${c.scenario}|${c.mode}|${c.name}`) ?? []), c.value]);
		for (const [k, v] of byName) {
			const [s, mode, name] = k.split("|");
			lines.push(`| ${s} | ${mode} | ${name} | ${cell(v)} |`);
		}
	}
	if (invalid.length) {
		lines.push("", "Invalid (not counted above):");
		for (const r of invalid)
			lines.push(`- ${r.scenario} ${modeLabel(r)} ${TARGET_LABEL[r.target]}: ${r.error ? r.error.split("\n")[0] : r.invalidReasons.join("; ")}`);
	}
	if (partial.length) {
		lines.push("", "Steps excluded because the generator saturated (the rows above use the remaining steps):");
		for (const r of partial) lines.push(`- ${r.scenario} ${modeLabel(r)} ${TARGET_LABEL[r.target]}: ${r.invalidReasons.join("; ")}`);
	}
	return lines.join("\n");
}
