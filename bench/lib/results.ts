import type { TargetKind } from "../generator/protocol.ts";
import type { ConnectResult, StepResult } from "../generator/pool.ts";
import type { Mode } from "./targets.ts";

export type ScenarioId = "S0" | "S1" | "S2" | "S3" | "S4" | "S5" | "S6" | "S7";

export interface StepRecord extends StepResult {
	/** Cores used by each server process over the step. */
	serverCores: number[];
	/** CPU seconds each server process used over the step (for CPU per delivery of one node). */
	serverCpuSeconds: number[];
}

export interface ConnectionLevel {
	connections: number;
	connect: ConnectResult;
	rssMB: number;
	heapUsedMB: number;
	rssPerConnectionKB: number;
	heapPerConnectionKB: number;
}

/** One scenario against one target in one mode. `summary` holds the numbers the aggregate compares across runs. */
export interface ScenarioResult {
	scenario: ScenarioId;
	mode: Mode;
	/** Cluster mode's transporter scheme ("amqp", "redis", …). */
	variant?: string;
	target: TargetKind;
	setup: Record<string, unknown>;
	steps: StepRecord[];
	levels?: ConnectionLevel[];
	history?: { requests: number; errors: number; latency: import("./histogram.ts").Percentiles; errorSample: string[] };
	summary: Record<string, number | null>;
	/** False when the generator saturated (or the scenario failed): its numbers are not results. */
	valid: boolean;
	invalidReasons: string[];
	error?: string;
}

export interface RunFile {
	startedAt: string;
	finishedAt: string;
	command: string;
	quick: boolean;
	machine: { cpus: string; cores: number; memoryGB: number; platform: string; loadAverageAtStart: number[] };
	versions: Record<string, string>;
	notes: string[];
	results: ScenarioResult[];
}
