import { monitorEventLoopDelay, performance, type IntervalHistogram } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { elapsedUs, nowNs, sleep } from "../lib/clock.ts";
import { encode, newHistogram, recordUs } from "../lib/histogram.ts";
import { SeqTracker } from "../lib/seq-tracker.ts";
import { createClient, type BenchClient, type SendAck } from "./clients.ts";
import {
	SOCKETIO_CLIENT_ENV,
	type FromWorker,
	type GeneratorLoad,
	type SocketIoClientKind,
	type StepPlan,
	type ToWorker,
	type WireMessage
} from "./protocol.ts";

/**
 * A load-generator thread: owns a share of the simulated clients, sends on an open-loop schedule and
 * measures every delivery against the time the message should have been sent (written in the payload),
 * so a slow server or a late generator shows up as latency rather than as fewer samples.
 */

const port = parentPort!;
const workerId: number = workerData.workerId;
const runId: string = workerData.runId;
const post = (m: FromWorker) => port.postMessage(m);
const socketIoClient = (process.env[SOCKETIO_CLIENT_ENV] ?? "raw") as SocketIoClientKind;

let clients: BenchClient[] = [];
/** trackers[client] : groupId → tracker */
let trackers: Map<string, SeqTracker>[] = [];
let stepNo = 0;

let stats = freshStats();
function freshStats() {
	return {
		windowEndNs: 0n,
		sent: 0,
		acked: 0,
		ackedInWindow: 0,
		pendingAcks: 0,
		ackErrors: 0,
		ackErrorSample: [] as string[],
		ackHist: newHistogram(),
		deliveryHist: newHistogram(),
		deliveries: 0,
		deliveriesInWindow: 0,
		deliveriesByGateway: [] as number[],
		lastSeq: {} as Record<string, number>,
		lastRecipient: null as Map<string, number> | null,
		dropAtNs: 0n,
		dropped: new Set<number>(),
		recovered: 0,
		reconnectFailures: 0,
		recoveryHist: newHistogram()
	};
}

class LoadMeter {
	private readonly eld: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
	private readonly elu = performance.eventLoopUtilization();
	constructor() {
		this.eld.enable();
	}
	read(): GeneratorLoad {
		this.eld.disable();
		return {
			elu: Math.round(performance.eventLoopUtilization(this.elu).utilization * 1000) / 1000,
			eldP99Ms: Math.round(this.eld.percentile(99) / 1e4) / 100,
			eldMaxMs: Math.round(this.eld.max / 1e4) / 100
		};
	}
}

function intendedNsOf(content: string): bigint | null {
	const bar = content.indexOf("|");
	if (bar <= 0) return null;
	try {
		return BigInt(content.slice(0, bar));
	} catch {
		return null;
	}
}

function onIncoming(index: number, m: WireMessage): void {
	const tracker = trackers[index].get(m.groupId);
	if (!tracker) return;
	if (m.senderId === clients[index].spec.userId) {
		tracker.ownMessage(m.seq);
		return;
	}
	if (!tracker.received(m.seq)) return;
	const now = nowNs();
	const intended = intendedNsOf(m.content);
	if (intended == null) return;
	const us = elapsedUs(intended, now);
	recordUs(stats.deliveryHist, us);
	stats.deliveries++;
	const gateway = clients[index].spec.gateway ?? 0;
	stats.deliveriesByGateway[gateway] = (stats.deliveriesByGateway[gateway] ?? 0) + 1;
	if (now <= stats.windowEndNs) stats.deliveriesInWindow++;
	if (stats.lastRecipient) {
		const key = `${m.groupId}:${m.seq}`;
		const known = stats.lastRecipient.get(key);
		if (known == null || us > known) stats.lastRecipient.set(key, us);
	}
}

async function resync(index: number): Promise<void> {
	const client = clients[index];
	const mine = trackers[index];
	let cursors = Object.fromEntries([...mine].map(([g, t]) => [g, t.cursor]));
	for (let round = 0; round < 1000 && Object.keys(cursors).length > 0; round++) {
		const items = await client.sync(cursors);
		const next: Record<string, number> = {};
		for (const item of items) {
			const tracker = mine.get(item.groupId);
			if (!tracker) continue;
			for (const m of item.messages) tracker.synced(m.seq);
			if (item.hasMore) next[item.groupId] = Math.max(tracker.cursor, ...item.messages.map(m => m.seq));
		}
		cursors = next;
	}
}

async function connectAll(target: "ours" | "b1" | "b2", specs: ToWorker & { type: "connect" }): Promise<void> {
	const meter = new LoadMeter();
	const hist = newHistogram();
	const errors: string[] = [];
	let ok = 0;
	let failed = 0;
	clients = specs.clients.map(spec => createClient(target, spec, socketIoClient));
	trackers = specs.clients.map(spec => new Map(spec.groups.map(g => [g, new SeqTracker(0)])));
	clients.forEach((client, index) => {
		client.onIncoming(m => onIncoming(index, m));
		client.onReconnect(() => {
			if (!stats.dropped.has(index)) return;
			resync(index).then(
				() => {
					stats.recovered++;
					recordUs(stats.recoveryHist, elapsedUs(stats.dropAtNs));
				},
				err => {
					stats.reconnectFailures++;
					if (stats.ackErrorSample.length < 5) stats.ackErrorSample.push(`sync: ${String(err?.message ?? err)}`);
				}
			);
		});
	});
	let next = 0;
	const lane = async () => {
		while (next < clients.length) {
			const client = clients[next++];
			const started = nowNs();
			try {
				await client.connect(30_000);
				recordUs(hist, elapsedUs(started));
				ok++;
			} catch (err) {
				failed++;
				if (errors.length < 5) errors.push(String((err as Error)?.message ?? err));
			}
		}
	};
	await Promise.all(Array.from({ length: Math.max(1, specs.concurrency) }, lane));
	post({ type: "connected", ok, failed, errorSample: errors, connectHist: encode(hist), load: meter.read() });
}

async function runStep(step: StepPlan): Promise<void> {
	stepNo++;
	stats = freshStats();
	for (const perClient of trackers) {
		for (const t of perClient.values()) {
			t.duplicates = 0;
			t.outOfOrder = 0;
			t.syncOverlap = 0;
		}
	}
	if (step.trackLastRecipient) stats.lastRecipient = new Map();
	const meter = new LoadMeter();
	const start = BigInt(step.startNs);
	stats.windowEndNs = start + BigInt(Math.round(step.durationMs)) * 1_000_000n;
	const n = step.senders.length;
	const total = n * step.ratePerSender;
	const count = Math.floor((total * step.durationMs) / 1000);
	const intervalNs = total > 0 ? 1e9 / total : 0;
	const padding = "x".repeat(Math.max(0, step.payloadBytes - 21));

	const waitMs = Number(start - nowNs()) / 1e6;
	if (waitMs > 0) await sleep(waitMs);

	if (step.drop) {
		const drop = step.drop;
		setTimeout(
			() => {
				stats.dropAtNs = nowNs();
				const every = Math.max(1, Math.round(1 / drop.fraction));
				for (let i = 0; i < clients.length; i += every) {
					stats.dropped.add(i);
					clients[i].drop();
				}
			},
			Math.max(0, Number(start + BigInt(Math.round(drop.atMs)) * 1_000_000n - nowNs()) / 1e6)
		);
	}

	await new Promise<void>(resolve => {
		let k = 0;
		const tick = () => {
			const now = nowNs();
			while (k < count) {
				const intended = start + BigInt(Math.round(k * intervalNs));
				if (intended > now) break;
				const sender = step.senders[k % n];
				const content = `${intended}|${padding}`;
				const groupId = sender.groupId;
				stats.sent++;
				stats.pendingAcks++;
				clients[sender.client].send({ groupId, content, clientMessageId: `${runId}-${workerId}-${stepNo}-${k}` }, (res: SendAck) => {
					stats.pendingAcks--;
					const ackNs = nowNs();
					if (res.ok && res.message) {
						stats.acked++;
						if (ackNs <= stats.windowEndNs) stats.ackedInWindow++;
						recordUs(stats.ackHist, elapsedUs(intended, ackNs));
						const seq = res.message.seq;
						if ((stats.lastSeq[groupId] ?? 0) < seq) stats.lastSeq[groupId] = seq;
						trackers[sender.client].get(groupId)?.ownMessage(seq);
					} else {
						stats.ackErrors++;
						if (stats.ackErrorSample.length < 5) stats.ackErrorSample.push(JSON.stringify(res.error ?? res).slice(0, 300));
					}
				});
				k++;
			}
			if (k < count) setTimeout(tick, 1);
			else resolve();
		};
		tick();
	});

	const ackDeadline = Date.now() + 20_000;
	while (stats.pendingAcks > 0 && Date.now() < ackDeadline) await sleep(20);
	post({
		type: "stepDone",
		sent: stats.sent,
		acked: stats.acked,
		ackedInWindow: stats.ackedInWindow,
		ackErrors: stats.ackErrors + stats.pendingAcks,
		ackErrorSample: stats.pendingAcks > 0 ? [...stats.ackErrorSample, `${stats.pendingAcks} sends never acknowledged`] : stats.ackErrorSample,
		ackHist: encode(stats.ackHist),
		deliveryHist: encode(stats.deliveryHist),
		deliveries: stats.deliveries,
		deliveriesInWindow: stats.deliveriesInWindow,
		deliveriesByGateway: Array.from(stats.deliveriesByGateway, n => n ?? 0),
		lastSeq: stats.lastSeq,
		lastRecipient: stats.lastRecipient ? [...stats.lastRecipient] : [],
		load: meter.read(),
		dropped: stats.dropped.size
	});
}

async function verify(lastSeq: Record<string, number>, baseSeq: Record<string, number>, settleMs: number): Promise<void> {
	const missingNow = () => {
		let lost = 0;
		for (const perClient of trackers)
			for (const [groupId, t] of perClient) if (lastSeq[groupId] != null) lost += t.missingSince(baseSeq[groupId] ?? 0, lastSeq[groupId]);
		return lost;
	};
	const deadline = Date.now() + settleMs;
	while (Date.now() < deadline && (missingNow() > 0 || stats.recovered + stats.reconnectFailures < stats.dropped.size)) await sleep(50);
	let duplicates = 0;
	let outOfOrder = 0;
	let syncOverlap = 0;
	for (const perClient of trackers)
		for (const t of perClient.values()) {
			duplicates += t.duplicates;
			outOfOrder += t.outOfOrder;
			syncOverlap += t.syncOverlap;
		}
	post({
		type: "verified",
		lost: missingNow(),
		duplicates,
		outOfOrder,
		syncOverlap,
		...(stats.dropped.size > 0 ? { recovered: stats.recovered, recoveryHist: encode(stats.recoveryHist) } : {})
	});
}

port.on("message", (m: ToWorker) => {
	const fail = (err: unknown) => post({ type: "error", message: String((err as Error)?.stack ?? err) });
	try {
		if (m.type === "connect") connectAll(m.target, m).catch(fail);
		else if (m.type === "start") runStep(m.step).catch(fail);
		else if (m.type === "verify") verify(m.lastSeq, m.baseSeq, m.settleMs).catch(fail);
		else if (m.type === "close") {
			for (const c of clients) c.close();
			setTimeout(() => process.exit(0), 200);
		}
	} catch (err) {
		fail(err);
	}
});
