import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { generatorOptions, helpRequested } from "./lib/cli-options.ts";
import { SOCKETIO_CLIENT_ENV } from "./generator/protocol.ts";
import { ROOT } from "./lib/child.ts";
import { clusterLayout, pinThisProcess, unpinThisProcess, type ClusterLayout } from "./lib/cpu-layout.ts";
import type { RunFile, ScenarioResult, StepRecord } from "./lib/results.ts";
import { machineInfo, versions } from "./lib/run-info.ts";
import { DEFAULT_TRANSPORTER, transporterLabel } from "./lib/targets.ts";
import { renderRun } from "./report.ts";
import { keptUp, type BenchOptions } from "./scenarios/common.ts";
import { runFanout, type FanoutPlan } from "./scenarios/fanout.ts";

const USAGE = `npm run bench:scale -- [options]

Cluster scale-out: a core node (users,auth,groups,messages,presence,api) and N socket-only nodes, for each N of
--nodes; groups whose members are dealt over the socket nodes; a rate ladder per N. Reports per N the kept-up
rate, deliveries/s, deliveries/s ÷ (N × the smallest N's per node) and the CPU per delivery of each socket node.

  --nodes 1,2,4,8          socket-node counts to sweep
  --transporter URL|tcp    a broker URL (default ${DEFAULT_TRANSPORTER}), or tcp: Moleculer's TCP transporter
  --redis URL|none         cacher, presence and rate limits (default redis://127.0.0.1:6379); none: in memory
                           (with --transporter tcp the sweep then needs neither a broker nor Redis)
  --groups 20              conversations
  --group-size 100         members per conversation (every member is a connected client)
  --senders 2              members of each conversation who send
  --rates 100,200,400      the ladder for one socket node, msg/s; N nodes step through N × these,
                           then on ×1.5 (at most --extra-steps more) while they keep up
  --extra-steps 6
  --duration 10            seconds per step
  --pin auto|off           auto: generator on cores 0…G−1, the core node on the next C, socket node i on its own
                           core after those, the rest left to the broker, Redis and the kernel; only when all fit
  --generator-cores G      default: cores − C − max N − 1, at least 2
  --core-node-cores C      default 1 (the messages service is one event loop)
  --workers N              generator threads (default G, at least 2)
  --client raw|socketio    the generator's socket.io client (default raw: it saturates later)
  --cpu-prof               run the nodes with --cpu-prof (profiles under bench/results/profiles/)
  --payload 100  --storage nedb|memory  --max-elu 0.9  --max-eld-ms 50
`;

const { values } = parseArgs({
	options: {
		nodes: { type: "string", default: "1,2,4,8" },
		transporter: { type: "string", default: DEFAULT_TRANSPORTER },
		redis: { type: "string", default: "redis://127.0.0.1:6379" },
		groups: { type: "string", default: "20" },
		"group-size": { type: "string", default: "100" },
		senders: { type: "string", default: "2" },
		rates: { type: "string", default: "100,200,400" },
		"extra-steps": { type: "string", default: "6" },
		duration: { type: "string", default: "10" },
		pin: { type: "string", default: "auto" },
		"generator-cores": { type: "string" },
		"core-node-cores": { type: "string", default: "1" },
		...generatorOptions
	}
});
helpRequested(values, USAGE);

const nodeCounts = values.nodes.split(",").map(Number);
const cores = os.availableParallelism();
const coreNodeCores = Number(values["core-node-cores"]);
const generatorCores = Number(values["generator-cores"] ?? Math.max(2, cores - coreNodeCores - Math.max(...nodeCounts) - 1));
const layoutFor = (socketNodes: number): ClusterLayout | null =>
	values.pin === "off" ? null : clusterLayout({ cores, generatorCores, coreNodeCores, socketNodes });
// Every N uses the same generator cores: laid out for the largest N, so the others fit too.
const pinned = layoutFor(Math.max(...nodeCounts)) != null;
const groupSize = Number(values["group-size"]);
const recipients = groupSize - 1;
const baseRates = values.rates.split(",").map(Number);
process.env[SOCKETIO_CLIENT_ENV] = values.client;

const options: BenchOptions = {
	quick: false,
	workers: Number(values.workers ?? Math.max(2, pinned ? generatorCores : Math.min(4, cores - 1))),
	durationMs: Number(values.duration) * 1000,
	payloadBytes: Number(values.payload),
	limits: { maxElu: Number(values["max-elu"]), maxEldP99Ms: Number(values["max-eld-ms"]) },
	cpuProfileDir: values["cpu-prof"] ? path.join(ROOT, "bench/results/profiles") : null,
	cluster: { transporter: values.transporter, redisUrl: values.redis },
	memoryStorage: values.storage === "memory",
	log: line => console.log(line)
};

/** One socket-node count's outcome, at the highest rate it kept up with. */
interface ScaleOutRow {
	socketNodes: number;
	/** 0 when every step kept up: the node's maximum is higher than measured, the row is a lower bound. */
	limitFound: 0 | 1;
	keptUpMsgsPerSec: number | null;
	deliveriesPerSec: number | null;
	/** deliveries/s ÷ (N × deliveries/s per node of the smallest N). */
	scalingEfficiency: number | null;
	/** Per socket node: process CPU over the step ÷ the deliveries its clients received. */
	socketCpuUsPerDelivery: (number | null)[];
	socketCores: number[];
	coreNodeCores: number | null;
	coreNodeCpuMsPerMessage: number | null;
	generatorCores: number | null;
	generatorMaxElu: number | null;
	/** The process with the most cores at the first step that did not keep up (where the limit was). */
	busiestAtLimit: string | null;
	lost: number;
	duplicates: number;
	outOfOrder: number;
	invalidSteps: string[];
	error?: string;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

function rowOf(socketNodes: number, result: ScenarioResult): Omit<ScaleOutRow, "scalingEfficiency"> {
	const valid = result.steps.filter(s => s.generator.valid);
	const sustained = result.summary.sustainedMsgsPerSec ?? null;
	const top: StepRecord | undefined = valid.find(s => s.offeredPerSec === sustained);
	const limit = result.steps.find(s => !keptUp(s, recipients));
	const names = ["core", ...Array.from({ length: socketNodes }, (_, i) => `socket-${i}`)];
	const busiest = limit?.serverCores.reduce((best, c, i) => (c > limit.serverCores[best] ? i : best), 0);
	return {
		socketNodes,
		limitFound: result.summary.saturated ? 1 : 0,
		keptUpMsgsPerSec: sustained,
		deliveriesPerSec: top?.deliveriesPerSec ?? null,
		socketCpuUsPerDelivery: top ? top.deliveriesByGateway.map((n, i) => (n > 0 ? round((top.serverCpuSeconds[1 + i] * 1e6) / n, 2) : null)) : [],
		socketCores: top?.serverCores.slice(1) ?? [],
		coreNodeCores: top?.serverCores[0] ?? null,
		coreNodeCpuMsPerMessage: top && top.acked > 0 ? round((top.serverCpuSeconds[0] * 1000) / top.acked, 3) : null,
		generatorCores: top?.generator.processCores ?? null,
		generatorMaxElu: top?.generator.maxElu ?? null,
		busiestAtLimit: !limit ? null : !limit.generator.valid ? "the generator (step invalid)" : `${names[busiest!]} ${limit.serverCores[busiest!]} cores`,
		lost: result.steps.reduce((n, s) => n + s.lost, 0),
		duplicates: result.steps.reduce((n, s) => n + s.duplicates, 0),
		outOfOrder: result.steps.reduce((n, s) => n + s.outOfOrder, 0),
		invalidSteps: result.invalidReasons,
		...(result.error ? { error: result.error.split("\n")[0] } : {})
	};
}

function withEfficiency(rows: Omit<ScaleOutRow, "scalingEfficiency">[]): ScaleOutRow[] {
	const base = rows.find(r => r.deliveriesPerSec != null);
	const perNode = base ? base.deliveriesPerSec! / base.socketNodes : null;
	return rows.map(r => ({
		...r,
		scalingEfficiency: perNode && r.deliveriesPerSec != null ? round(r.deliveriesPerSec / (r.socketNodes * perNode), 2) : null
	}));
}

function table(rows: ScaleOutRow[], baseNodes: number): string {
	const cell = (x: number | string | null | undefined) => (x == null ? "—" : typeof x === "number" ? x.toLocaleString("en-US") : x);
	const lines = [
		`| socket nodes | kept up at msg/s | deliveries/s | ÷ (N × N=${baseNodes} per node) | socket node CPU µs/delivery | socket node cores | core node cores | core node CPU ms/msg | generator cores (max ELU) | limit at | lost | dup | out of order |`,
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	];
	for (const r of rows)
		lines.push(
			`| ${r.socketNodes} | ${r.limitFound || r.keptUpMsgsPerSec == null ? "" : "≥ "}${cell(r.keptUpMsgsPerSec)} | ${cell(r.deliveriesPerSec)} | ${cell(r.scalingEfficiency)} | ` +
				`${r.socketCpuUsPerDelivery.map(cell).join(" / ") || "—"} | ${r.socketCores.join(" / ") || "—"} | ${cell(r.coreNodeCores)} | ` +
				`${cell(r.coreNodeCpuMsPerMessage)} | ${cell(r.generatorCores)} (${cell(r.generatorMaxElu)}) | ${cell(r.busiestAtLimit ?? (r.limitFound ? null : "not reached"))} | ` +
				`${r.lost} | ${r.duplicates} | ${r.outOfOrder} |`
		);
	const notes = rows.flatMap(r => [
		...r.invalidSteps.map(s => `- ${r.socketNodes} socket node(s): ${s}`),
		...(r.error ? [`- ${r.socketNodes} socket node(s) failed: ${r.error}`] : [])
	]);
	const legend = [
		"",
		"≥: every step kept up, so this N's maximum is higher than measured, and a ratio with it compares ladder tops, not maxima.",
		"limit at: the busiest server process at the first step that did not keep up. CPU per delivery: at the kept-up step."
	];
	return [...lines, ...legend, ...(notes.length ? ["", "Steps excluded (generator saturated) or failed:", ...notes] : [])].join("\n");
}

const startedAt = new Date().toISOString();
const generatorLayout = layoutFor(Math.max(...nodeCounts))?.generator;
const generatorPinned = generatorLayout != null && pinThisProcess(generatorLayout);
console.log(
	generatorPinned
		? `${cores} cores: generator on ${generatorLayout} (${options.workers} workers), core node on ${layoutFor(1)!.core}, socket node i on core ${generatorCores + coreNodeCores} + i`
		: `${cores} cores: not pinned (${values.pin === "off" ? "--pin off" : `${generatorCores} generator + ${coreNodeCores} core node + ${Math.max(...nodeCounts)} socket node cores do not fit, or taskset failed`}); ${options.workers} generator workers`
);

const results: ScenarioResult[] = [];
const rows: Omit<ScaleOutRow, "scalingEfficiency">[] = [];
try {
	for (const socketNodes of nodeCounts) {
		const plan: FanoutPlan = {
			scenario: "S2",
			groupSize,
			groups: Number(values.groups),
			sendersPerGroup: Number(values.senders),
			rates: baseRates.map(r => r * socketNodes),
			extraSteps: Number(values["extra-steps"])
		};
		const layout = generatorPinned ? layoutFor(socketNodes) : null;
		console.log(
			`\n=== ${socketNodes} socket node(s) over ${transporterLabel(values.transporter)}${layout ? `, pinned to ${layout.sockets.join(",")}` : ""} ===`
		);
		const result = await runFanout(plan, "ours", "cluster", { ...options, cluster: { ...options.cluster, socketNodes, ...(layout ? { cpus: layout } : {}) } });
		result.variant = `${transporterLabel(values.transporter)}, ${socketNodes} socket node${socketNodes === 1 ? "" : "s"}`;
		result.setup.layout = layout;
		results.push(result);
		rows.push(rowOf(socketNodes, result));
	}
} finally {
	if (generatorPinned) unpinThisProcess();
}

const scaleOut = withEfficiency(rows);
const run: RunFile & { scaleOut: { pinned: boolean; generatorCores: number; coreNodeCores: number; rows: ScaleOutRow[] } } = {
	startedAt,
	finishedAt: new Date().toISOString(),
	command: `npm run bench:scale -- ${process.argv.slice(2).join(" ")}`.trim(),
	quick: false,
	machine: machineInfo(),
	versions: versions(),
	notes: [
		"Users are registered with BCRYPT_COST=4 and rate limits raised (setup speed only; not part of any measured step).",
		"Latency is measured from each message's intended send time (open loop), on CLOCK_MONOTONIC shared by all processes.",
		"CPU per delivery of a socket node: its process CPU over the step (ladder step, settle and loss check included) ÷ the deliveries its clients received in that step."
	],
	results,
	scaleOut: { pinned: generatorPinned, generatorCores, coreNodeCores, rows: scaleOut }
};
// Its own folder: bench:aggregate reads bench/results/*.json, and these rows are not the S2 of the main runs.
const dir = path.join(ROOT, "bench/results/scale-out");
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${startedAt.replace(/[:.]/g, "-")}-${transporterLabel(values.transporter)}.json`);
writeFileSync(file, JSON.stringify(run, null, 1) + "\n");
console.log(`\n${renderRun([run])}\n#### Scale-out\n\n${table(scaleOut, scaleOut[0]?.socketNodes ?? 1)}\n\nresult file: ${path.relative(ROOT, file)}`);
