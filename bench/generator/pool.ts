import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import { nowNs } from "../lib/clock.ts";
import { mergeEncoded, newHistogram, percentilesMs, recordUs, type Percentiles } from "../lib/histogram.ts";
import type { ClientSpec, Connected, FromWorker, GeneratorLoad, StepDone, TargetKind, ToWorker, Verified } from "./protocol.ts";

/** When the generator itself is this busy, its measurements say more about it than about the server. */
export interface SaturationLimits {
	maxElu: number;
	maxEldP99Ms: number;
}

export const DEFAULT_LIMITS: SaturationLimits = { maxElu: 0.9, maxEldP99Ms: 50 };

export interface GeneratorHealth {
	workers: number;
	maxElu: number;
	maxEldP99Ms: number;
	maxEldMs: number;
	/** CPU of the whole generator process (all threads), in cores. */
	processCores: number;
	valid: boolean;
	invalidReason?: string;
}

export interface ConnectResult {
	ok: number;
	failed: number;
	errorSample: string[];
	connect: Percentiles;
	seconds: number;
	generator: GeneratorHealth;
}

export interface StepResult {
	offeredPerSec: number;
	durationS: number;
	sent: number;
	acked: number;
	ackErrors: number;
	ackErrorSample: string[];
	storedPerSec: number;
	deliveriesPerSec: number;
	deliveries: number;
	/** Deliveries (in the window or after it) by the gateway node the recipient is connected to. */
	deliveriesByGateway: number[];
	/** Send (intended time) → ack after storage. */
	ack: Percentiles;
	/** Send (intended time) → each recipient. */
	delivery: Percentiles;
	/** Send (intended time) → the last recipient of each message. */
	lastRecipient?: Percentiles;
	lost: number;
	duplicates: number;
	outOfOrder: number;
	syncOverlap: number;
	recovery?: { dropped: number; recovered: number; ms: Percentiles };
	generator: GeneratorHealth;
}

export interface StepOptions {
	/** Which clients send, in which group: indexes into the pool's clients. */
	senders: { client: number; groupId: string }[];
	ratePerSender: number;
	durationMs: number;
	payloadBytes: number;
	trackLastRecipient?: boolean;
	drop?: { atMs: number; fraction: number };
	settleMs?: number;
}

const workerUrl = new URL("./worker.ts", import.meta.url);

/** A few worker threads that together play every simulated client of a scenario. */
export class GeneratorPool {
	private readonly workers: Worker[] = [];
	private readonly inbox: FromWorker[][] = [];
	private readonly waiters: (() => void)[] = [];
	private owner: number[] = [];
	private local: number[] = [];
	private readonly limits: SaturationLimits;
	/** Last seq per group as of the end of the previous step. */
	private readonly knownSeq: Record<string, number> = {};

	constructor(count: number, limits: SaturationLimits = DEFAULT_LIMITS) {
		this.limits = limits;
		const runId = randomBytes(4).toString("hex");
		for (let i = 0; i < count; i++) {
			const w = new Worker(workerUrl, { workerData: { workerId: i, runId }, execArgv: ["--disable-warning=DEP0174"] });
			this.inbox.push([]);
			w.on("message", (m: FromWorker) => {
				this.inbox[i].push(m);
				for (const wake of this.waiters.splice(0)) wake();
			});
			w.on("error", err => {
				this.inbox[i].push({ type: "error", message: String(err?.stack ?? err) });
				for (const wake of this.waiters.splice(0)) wake();
			});
			this.workers.push(w);
		}
	}

	private async collect<T extends FromWorker>(type: T["type"], timeoutMs: number): Promise<T[]> {
		const deadline = Date.now() + timeoutMs;
		const out: (T | undefined)[] = this.workers.map(() => undefined);
		for (;;) {
			this.inbox.forEach((queue, i) => {
				const index = queue.findIndex(m => m.type === type || m.type === "error");
				if (index >= 0 && !out[i]) {
					const [m] = queue.splice(index, 1);
					if (m.type === "error") throw new Error(`generator worker ${i}: ${m.message}`);
					out[i] = m as T;
				}
			});
			if (out.every(Boolean)) return out as T[];
			if (Date.now() > deadline) throw new Error(`generator workers did not report ${type} within ${timeoutMs} ms`);
			await new Promise<void>(resolve => {
				this.waiters.push(resolve);
				setTimeout(resolve, 200);
			});
		}
	}

	private send(i: number, m: ToWorker) {
		this.workers[i].postMessage(m);
	}

	private health(loads: GeneratorLoad[], cpuStart: NodeJS.CpuUsage, wallStartNs: bigint): GeneratorHealth {
		const cpu = process.cpuUsage(cpuStart);
		const wallUs = Number(nowNs() - wallStartNs) / 1000;
		const maxElu = Math.max(...loads.map(l => l.elu));
		const maxEldP99Ms = Math.max(...loads.map(l => l.eldP99Ms));
		const reasons = [];
		if (maxElu > this.limits.maxElu) reasons.push(`a generator thread was busy ${Math.round(maxElu * 100)}% of the time (limit ${this.limits.maxElu * 100}%)`);
		if (maxEldP99Ms > this.limits.maxEldP99Ms) reasons.push(`generator event-loop delay p99 ${maxEldP99Ms} ms (limit ${this.limits.maxEldP99Ms} ms)`);
		return {
			workers: this.workers.length,
			maxElu,
			maxEldP99Ms,
			maxEldMs: Math.max(...loads.map(l => l.eldMaxMs)),
			processCores: Math.round(((cpu.user + cpu.system) / wallUs) * 100) / 100,
			valid: reasons.length === 0,
			...(reasons.length ? { invalidReason: reasons.join("; ") } : {})
		};
	}

	/** Connects every client (spread over the workers) and waits until each has connected or failed. */
	async connect(target: TargetKind, clients: ClientSpec[], concurrencyPerWorker = 50): Promise<ConnectResult> {
		const n = this.workers.length;
		const start = nowNs();
		const cpu = process.cpuUsage();
		const offset = this.owner.length;
		const perWorker: ClientSpec[][] = this.workers.map(() => []);
		const localCounts = this.workers.map((_, i) => this.local.filter((_, j) => this.owner[j] === i).length);
		clients.forEach((c, j) => {
			const w = (offset + j) % n;
			this.owner.push(w);
			this.local.push(localCounts[w]++);
			perWorker[w].push(c);
		});
		perWorker.forEach((specs, i) => this.send(i, { type: "connect", target, clients: specs, concurrency: concurrencyPerWorker }));
		const results = await this.collect<Connected>("connected", 30 * 60_000);
		const hist = mergeEncoded(results.map(r => r.connectHist));
		return {
			ok: results.reduce((s, r) => s + r.ok, 0),
			failed: results.reduce((s, r) => s + r.failed, 0),
			errorSample: results.flatMap(r => r.errorSample).slice(0, 5),
			connect: percentilesMs(hist),
			seconds: Math.round(Number(nowNs() - start) / 1e7) / 100,
			generator: this.health(
				results.map(r => r.load),
				cpu,
				start
			)
		};
	}

	/** One open-loop step: every sender sends at ratePerSender for durationMs; then losses are counted. */
	async step(options: StepOptions): Promise<StepResult> {
		const startNs = nowNs() + 300_000_000n;
		const cpu = process.cpuUsage();
		const bySender: { client: number; groupId: string }[][] = this.workers.map(() => []);
		for (const s of options.senders) bySender[this.owner[s.client]].push({ client: this.local[s.client], groupId: s.groupId });
		this.workers.forEach((_, i) =>
			this.send(i, {
				type: "start",
				step: {
					senders: bySender[i],
					ratePerSender: options.ratePerSender,
					startNs: String(startNs),
					durationMs: options.durationMs,
					payloadBytes: options.payloadBytes,
					trackLastRecipient: !!options.trackLastRecipient,
					...(options.drop ? { drop: options.drop } : {})
				}
			})
		);
		const done = await this.collect<StepDone>("stepDone", options.durationMs + 120_000);
		const lastSeq: Record<string, number> = { ...this.knownSeq };
		for (const d of done) for (const [g, s] of Object.entries(d.lastSeq)) lastSeq[g] = Math.max(lastSeq[g] ?? 0, s);
		const baseSeq = { ...this.knownSeq };
		this.workers.forEach((_, i) => this.send(i, { type: "verify", lastSeq, baseSeq, settleMs: options.settleMs ?? 10_000 }));
		const verified = await this.collect<Verified>("verified", (options.settleMs ?? 10_000) + 60_000);
		Object.assign(this.knownSeq, lastSeq);

		const seconds = options.durationMs / 1000;
		let lastRecipient: Percentiles | undefined;
		if (options.trackLastRecipient) {
			const worst = new Map<string, number>();
			for (const d of done) for (const [k, us] of d.lastRecipient) if ((worst.get(k) ?? -1) < us) worst.set(k, us);
			const h = newHistogram();
			for (const us of worst.values()) recordUs(h, us);
			lastRecipient = percentilesMs(h);
		}
		const sum = (f: (d: StepDone) => number) => done.reduce((s, d) => s + f(d), 0);
		const vsum = (f: (v: Verified) => number) => verified.reduce((s, v) => s + f(v), 0);
		const dropped = sum(d => d.dropped ?? 0);
		return {
			offeredPerSec: options.senders.length * options.ratePerSender,
			durationS: seconds,
			sent: sum(d => d.sent),
			acked: sum(d => d.acked),
			ackErrors: sum(d => d.ackErrors),
			ackErrorSample: done.flatMap(d => d.ackErrorSample).slice(0, 5),
			storedPerSec: Math.round(sum(d => d.ackedInWindow) / seconds),
			deliveriesPerSec: Math.round(sum(d => d.deliveriesInWindow) / seconds),
			deliveries: sum(d => d.deliveries),
			deliveriesByGateway: Array.from({ length: Math.max(0, ...done.map(d => d.deliveriesByGateway.length)) }, (_, g) =>
				sum(d => d.deliveriesByGateway[g] ?? 0)
			),
			ack: percentilesMs(mergeEncoded(done.map(d => d.ackHist))),
			delivery: percentilesMs(mergeEncoded(done.map(d => d.deliveryHist))),
			...(lastRecipient ? { lastRecipient } : {}),
			lost: vsum(v => v.lost),
			duplicates: vsum(v => v.duplicates),
			outOfOrder: vsum(v => v.outOfOrder),
			syncOverlap: vsum(v => v.syncOverlap),
			...(dropped > 0
				? {
						recovery: {
							dropped,
							recovered: vsum(v => v.recovered ?? 0),
							ms: percentilesMs(mergeEncoded(verified.map(v => v.recoveryHist ?? "")))
						}
					}
				: {}),
			generator: this.health(
				done.map(d => d.load),
				cpu,
				startNs
			)
		};
	}

	async close(): Promise<void> {
		this.workers.forEach((_, i) => this.send(i, { type: "close" }));
		await Promise.all(this.workers.map(w => new Promise(resolve => w.once("exit", resolve))));
	}
}
