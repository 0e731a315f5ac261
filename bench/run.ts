import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { generatorOptions, helpRequested } from "./lib/cli-options.ts";
import { SOCKETIO_CLIENT_ENV, type TargetKind } from "./generator/protocol.ts";
import { ROOT } from "./lib/child.ts";
import type { RunFile, ScenarioId, ScenarioResult } from "./lib/results.ts";
import { machineInfo, versions } from "./lib/run-info.ts";
import { DEFAULT_TRANSPORTER, transporterLabel, type Mode } from "./lib/targets.ts";
import { renderRun } from "./report.ts";
import type { BenchOptions } from "./scenarios/common.ts";
import { runConnections } from "./scenarios/connections.ts";
import { runFanout, type FanoutPlan } from "./scenarios/fanout.ts";
import { runHandshakes } from "./scenarios/handshakes.ts";
import { runHistory } from "./scenarios/history.ts";
import { runOverload } from "./scenarios/overload.ts";
import { runReconnect } from "./scenarios/reconnect.ts";

const USAGE = `npm run bench -- [options]

  (no options)          quick run: every scenario, small sizes, 4 s steps, embedded mode (a few minutes)
  --full                the full sizes of docs/BENCHMARKS.md (10k/25k/50k sockets, 1M stored messages, 20 s steps)
  --scenarios S1,S2     which scenarios (S0 connections, S1 direct, S2 groups of 100, S3 groups of 1,000, S4 history, S5 reconnect storm, S6 overload, S7 handshakes)
  --targets ours,b2,b1  which servers (ours; B2 bare socket.io; B1 bare ws)
  --mode embedded|cluster|both   our server as one process, or core + two socket nodes over RabbitMQ/Redis (S1–S3, S5)
  --runs N              repeat the whole selection N times (one result file per run)
  --duration SECONDS    length of each rate step
  --workers N           load-generator worker threads
  --payload BYTES       message content size
  --rates S2=100,200    override a scenario's rate ladder (total messages/s); repeatable
  --groups S1=500       override how many conversations S1–S3 have (S1: pairs); repeatable
  --handshakes N        S7 clients (default 2,000; a process holds at most ~20,000 open files here)
  --levels 1000,5000    S0 connection levels
  --history-messages N  S4 store size
  --transporter URL     cluster mode transporter: a broker URL (default amqp://chat-bench:…@127.0.0.1:5672), or tcp (no broker)
  --socket-nodes N      cluster mode socket-only nodes (default 2); npm run bench:scale sweeps 1, 2, 4, 8
  --redis URL           cluster mode Redis (default redis://127.0.0.1:6379)
  --storage nedb|memory NeDB files in a temporary DATA_DIR (default), or DATA_DIR=:memory: to take the disk out
  --client raw|socketio the generator's client for ours and B2 (the same for both): socket.io's protocol over ws
                        (default raw: the generator saturates later), or socket.io-client
  --cpu-prof            run our gateway nodes with --cpu-prof (profiles under bench/results/profiles/)
  --max-elu 0.9 --max-eld-ms 50   generator saturation limits (a step above them is invalid)
`;

const { values } = parseArgs({
	options: {
		full: { type: "boolean", default: false },
		scenarios: { type: "string" },
		targets: { type: "string", default: "ours,b2,b1" },
		mode: { type: "string", default: "embedded" },
		runs: { type: "string", default: "1" },
		duration: { type: "string" },
		rates: { type: "string", multiple: true, default: [] },
		groups: { type: "string", multiple: true, default: [] },
		handshakes: { type: "string", default: "2000" },
		levels: { type: "string" },
		"history-messages": { type: "string" },
		transporter: { type: "string", default: DEFAULT_TRANSPORTER },
		"socket-nodes": { type: "string", default: "2" },
		redis: { type: "string", default: "redis://127.0.0.1:6379" },
		...generatorOptions
	}
});
helpRequested(values, USAGE);

if (values.client !== "raw" && values.client !== "socketio") throw new Error(`--client ${values.client}: raw or socketio`);
process.env[SOCKETIO_CLIENT_ENV] = values.client;

const quick = !values.full;
const scenarios = (values.scenarios ?? "S0,S1,S2,S3,S4,S5,S6").split(",").map(s => s.trim().toUpperCase()) as ScenarioId[];
const targets = values.targets.split(",").map(s => s.trim().toLowerCase()) as TargetKind[];
const modes: Mode[] = values.mode === "both" ? ["embedded", "cluster"] : [values.mode as Mode];
const resultsDir = path.join(ROOT, "bench/results");
const options: BenchOptions = {
	quick,
	workers: Number(values.workers ?? Math.max(2, Math.min(4, os.cpus().length - 1))),
	durationMs: Number(values.duration ?? (quick ? 4 : 20)) * 1000,
	payloadBytes: Number(values.payload),
	limits: { maxElu: Number(values["max-elu"]), maxEldP99Ms: Number(values["max-eld-ms"]) },
	cpuProfileDir: values["cpu-prof"] ? path.join(resultsDir, "profiles") : null,
	cluster: { transporter: values.transporter, redisUrl: values.redis, socketNodes: Number(values["socket-nodes"]) },
	memoryStorage: values.storage === "memory",
	log: line => console.log(line)
};

const rateOverrides = new Map(values.rates.map(r => r.split("=") as [string, string]).map(([s, list]) => [s.toUpperCase(), list.split(",").map(Number)]));
const plans: Record<"S1" | "S2" | "S3", FanoutPlan> = {
	S1: {
		scenario: "S1",
		groupSize: 2,
		groups: quick ? 200 : 1000,
		sendersPerGroup: 2,
		rates: quick ? [250, 1000, 2500, 5000] : [250, 500, 1000, 2500, 5000, 7500, 10000],
		extraSteps: quick ? 1 : 6
	},
	S2: {
		scenario: "S2",
		groupSize: 100,
		groups: quick ? 5 : 20,
		sendersPerGroup: 2,
		rates: quick ? [25, 100, 250, 500] : [25, 50, 100, 250, 500, 1000, 2000],
		extraSteps: quick ? 1 : 6
	},
	S3: {
		scenario: "S3",
		groupSize: 1000,
		groups: quick ? 1 : 4,
		sendersPerGroup: 2,
		rates: quick ? [5, 10, 25, 50] : [5, 10, 25, 50, 100, 200],
		extraSteps: quick ? 1 : 6
	}
};
for (const [id, plan] of Object.entries(plans)) if (rateOverrides.has(id)) plan.rates = rateOverrides.get(id)!;
for (const [id, count] of values.groups.map(g => g.split("=")))
	if (id.toUpperCase() in plans) plans[id.toUpperCase() as keyof typeof plans].groups = Number(count);
const levels = values.levels ? values.levels.split(",").map(Number) : quick ? [1000, 2000] : [10_000, 25_000, 50_000];
const historyMessages = Number(values["history-messages"] ?? (quick ? 100_000 : 1_000_000));

async function runOnce(runIndex: number): Promise<RunFile> {
	const startedAt = new Date().toISOString();
	const results: ScenarioResult[] = [];
	console.log(`\n=== run ${runIndex + 1} (${quick ? "quick" : "full"}; ${options.workers} generator workers; ${options.durationMs / 1000} s steps) ===`);
	for (const mode of modes)
		for (const scenario of scenarios) {
			// Baselines are single processes: they run once, in the embedded pass.
			const kinds = targets.filter(k => k === "ours" || mode === "embedded");
			if (scenario === "S0") {
				if (mode === "embedded") for (const k of kinds) results.push(await runConnections(k, levels, options));
			} else if (scenario === "S4") {
				if (mode === "embedded" && kinds.includes("ours")) results.push(await runHistory(historyMessages, plans.S1, options));
			} else if (scenario === "S6") {
				if (mode === "embedded" && kinds.includes("ours")) results.push(await runOverload(options));
			} else if (scenario === "S7") {
				if (mode === "embedded") for (const k of kinds.filter(k => k !== "b1")) results.push(await runHandshakes(k, Number(values.handshakes), options));
			} else if (scenario === "S5") {
				if (kinds.includes("ours")) results.push(await runReconnect(mode, options));
			} else {
				for (const k of kinds) results.push(await runFanout(plans[scenario], k, mode, options));
			}
		}
	const transporter = transporterLabel(options.cluster.transporter);
	for (const r of results) {
		const variants = [
			r.mode === "cluster" ? transporter : "",
			options.memoryStorage && r.target === "ours" && r.scenario !== "S4" ? "memory store" : ""
		].filter(Boolean);
		if (variants.length) r.variant = variants.join(", ");
	}
	return {
		startedAt,
		finishedAt: new Date().toISOString(),
		command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
		quick,
		machine: machineInfo(),
		versions: versions(),
		notes: [
			"Users are registered with BCRYPT_COST=4 and rate limits raised (setup speed only; not part of any measured step).",
			"Latency is measured from each message's intended send time (open loop), on CLOCK_MONOTONIC shared by all processes.",
			`Generator client for ours and B2: ${values.client === "raw" ? "socket.io's protocol over ws (bench/generator/clients.ts RawSocketIoClient)" : "socket.io-client"}.`
		],
		results
	};
}

mkdirSync(resultsDir, { recursive: true });
for (let i = 0; i < Number(values.runs); i++) {
	const run = await runOnce(i);
	const file = path.join(resultsDir, `${run.startedAt.replace(/[:.]/g, "-")}${quick ? "-quick" : ""}.json`);
	writeFileSync(file, JSON.stringify(run, null, 1) + "\n");
	console.log(`\n${renderRun([run])}\nresult file: ${path.relative(ROOT, file)}`);
}
