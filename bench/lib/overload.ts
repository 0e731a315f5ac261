import { randomUUID } from "node:crypto";
import os from "node:os";
import { io, type Socket } from "socket.io-client";
import { pinThisProcess, unpinThisProcess } from "./cpu-layout.ts";
import { inLanes, OurTarget, type BenchUser } from "./targets.ts";

/**
 * The overload experiment (S6, and test/reliability/overload.test.ts): one embedded node with NeDB files, its
 * sustained maximum measured closed-loop, then offered `factor` × that open-loop. The load runs in this process,
 * one socket.io client per user, direct conversations of two; nothing retries during the overload, so what is
 * offered is exactly the schedule.
 */

export interface OverloadPlan {
	/** Node flags for the node under test (e.g. --trace-gc, --cpu-prof) when profiling the experiment. */
	nodeArgs?: string[];
	/** Direct conversations; both members send. */
	pairs: number;
	/** Closed-loop measurement of the maximum (after a second of warm-up). */
	probeMs: number;
	/** Open-loop overload. */
	overloadMs: number;
	/** Offered rate as a multiple of the measured maximum. */
	factor: number;
	/** Closed loop again once the overload stops: how soon the node is back at its maximum. */
	recoveryMs: number;
	payloadBytes: number;
	/** Rejected sends retried afterwards with their clientMessageId (the client's back-off path). */
	retries: number;
	env?: Record<string, string>;
	log(line: string): void;
}

export interface SecondSample {
	offered: number;
	ok: number;
	rejected: number;
	failed: number;
}

export interface OverloadReport {
	cores: number;
	pinned: boolean;
	maxPerSec: number;
	offeredPerSec: number;
	/** Acks per second of the overload, by the second they arrived in. */
	seconds: SecondSample[];
	/** Slowest answer (ok or refusal) during the overload, and refusals' own slowest. */
	maxAnswerMs: number;
	maxRefusalMs: number;
	answerP99Ms: number;
	unanswered: number;
	rejectedTypes: Record<string, number>;
	retryAfterMs: { min: number; max: number };
	recoveryPerSec: number;
	/** Cores the node used during the overload (and the wait for its last answers). */
	serverCores: number;
	retried: number;
	retriedStored: number;
	/** History against acks: every acknowledged message exactly once, seqs 1..n in order, nothing refused stored. */
	acknowledged: number;
	stored: number;
	lost: number;
	duplicates: number;
	outOfOrder: number;
	refusedButStored: number;
	serverLog: string;
}

interface Client {
	socket: Socket;
	groupId: string;
}

interface Ack {
	ok: boolean;
	message?: { id: string; seq: number; clientMessageId?: string; createdAt: string };
	error?: { code: number; type: string; data?: { retryAfterMs?: number } };
}

/** Pins this process to core 0 and returns the cores for the node (the rest), when there are two or more and taskset is there. */
function pinGenerator(): string | null {
	const cores = os.availableParallelism();
	return cores >= 2 && pinThisProcess("0") ? `1-${cores - 1}` : null;
}

function connect(url: string, user: BenchUser): Promise<Socket> {
	const socket = io(url, { transports: ["websocket"], auth: user.auth, reconnection: false, forceNew: true, timeout: 20_000 });
	return new Promise((resolve, reject) => {
		socket.once("connect", () => resolve(socket));
		socket.once("connect_error", err => {
			socket.close();
			reject(err);
		});
	});
}

const content = (bytes: number) => "x".repeat(Math.max(1, bytes));

/** Sends one message and resolves with its ack and how long the answer took. */
function send(client: Client, clientMessageId: string, text: string): Promise<{ ack: Ack; ms: number }> {
	const started = performance.now();
	return new Promise(resolve => {
		client.socket.emit("chat.message.send", { groupId: client.groupId, content: text, clientMessageId }, (ack: Ack) =>
			resolve({ ack, ms: performance.now() - started })
		);
	});
}

class Acks {
	readonly byGroup = new Map<string, Map<string, number>>();
	readonly refused = new Map<string, { client: Client; clientMessageId: string }>();

	record(client: Client, clientMessageId: string, ack: Ack): void {
		if (ack.ok) {
			let group = this.byGroup.get(client.groupId);
			if (!group) this.byGroup.set(client.groupId, (group = new Map()));
			group.set(ack.message!.id, ack.message!.seq);
			this.refused.delete(clientMessageId);
		} else this.refused.set(clientMessageId, { client, clientMessageId });
	}

	get count(): number {
		let n = 0;
		for (const g of this.byGroup.values()) n += g.size;
		return n;
	}
}

/** Every client keeps one send in flight for `ms`; returns acknowledged sends per second. */
async function closedLoop(clients: Client[], ms: number, text: string, acks: Acks): Promise<number> {
	const end = performance.now() + ms;
	let ok = 0;
	await Promise.all(
		clients.map(async client => {
			while (performance.now() < end) {
				const id = randomUUID();
				const { ack } = await send(client, id, text);
				acks.record(client, id, ack);
				if (ack.ok && performance.now() <= end) ok++;
				if (!ack.ok) await new Promise(r => setTimeout(r, ack.error?.data?.retryAfterMs ?? 100));
			}
		})
	);
	return (ok * 1000) / ms;
}

async function openLoop(clients: Client[], ratePerSec: number, ms: number, text: string, acks: Acks) {
	const seconds: SecondSample[] = Array.from({ length: Math.ceil(ms / 1000) + 3 }, () => ({ offered: 0, ok: 0, rejected: 0, failed: 0 }));
	const answers: number[] = [];
	const refusalMs: number[] = [];
	const rejectedTypes: Record<string, number> = {};
	const retryAfter = { min: Infinity, max: 0 };
	const pending = new Set<Promise<void>>();
	const start = performance.now();
	const startWall = Date.now();
	let sent = 0;
	let next = 0;
	while (performance.now() - start < ms) {
		const due = Math.floor(((performance.now() - start) / 1000) * ratePerSec);
		for (; sent < due; sent++) {
			const client = clients[next++ % clients.length];
			const id = randomUUID();
			seconds[Math.floor((performance.now() - start) / 1000)].offered++;
			const p = send(client, id, text).then(({ ack, ms: took }) => {
				const bucket = seconds[Math.min(seconds.length - 1, Math.floor((performance.now() - start) / 1000))];
				answers.push(took);
				acks.record(client, id, ack);
				// An acknowledgement counts in the second the node stored the message (its createdAt, same machine and
				// clock): what the node did each second, not when this busy generator got round to reading the ack.
				if (ack.ok) seconds[Math.max(0, Math.min(seconds.length - 1, Math.floor((Date.parse(ack.message!.createdAt) - startWall) / 1000)))].ok++;
				else if (ack.error && (ack.error.code === 503 || ack.error.code === 429)) {
					bucket.rejected++;
					refusalMs.push(took);
					rejectedTypes[ack.error.type] = (rejectedTypes[ack.error.type] ?? 0) + 1;
					const after = ack.error.data?.retryAfterMs ?? -1;
					retryAfter.min = Math.min(retryAfter.min, after);
					retryAfter.max = Math.max(retryAfter.max, after);
				} else bucket.failed++;
				pending.delete(p);
			});
			pending.add(p);
		}
		await new Promise(r => setTimeout(r, 2));
	}
	// Whatever is still unanswered 5 s after the schedule ends counts as unanswered.
	await Promise.race([Promise.all(pending), new Promise(r => setTimeout(r, 5000))]);
	answers.sort((a, b) => a - b);
	return {
		seconds: seconds.slice(0, Math.ceil(ms / 1000)),
		sent,
		unanswered: pending.size,
		maxAnswerMs: answers.at(-1) ?? 0,
		maxRefusalMs: refusalMs.reduce((max, ms) => Math.max(max, ms), 0),
		answerP99Ms: answers[Math.floor(answers.length * 0.99)] ?? 0,
		rejectedTypes,
		retryAfter
	};
}

interface HistoryMessage {
	id: string;
	seq: number;
	clientMessageId?: string;
}

/** The whole history of a conversation, page by page. */
async function historyOf(target: OurTarget, token: string, groupId: string): Promise<HistoryMessage[]> {
	const all: HistoryMessage[] = [];
	for (;;) {
		const after = all.length ? all[all.length - 1].seq : 0;
		const page = await target.rest<{ items: HistoryMessage[] }>("GET", `/api/messages/${groupId}?after=${after}&limit=100`, undefined, token);
		all.push(...page.items);
		if (page.items.length < 100) return all;
	}
}

export async function runOverloadExperiment(plan: OverloadPlan): Promise<OverloadReport> {
	const cores = os.availableParallelism();
	const nodeCores = pinGenerator();
	const target = new OurTarget({ mode: "embedded", cpus: nodeCores ?? undefined, nodeArgs: plan.nodeArgs, env: { LOG_LEVEL: "warn", ...plan.env } });
	const clients: Client[] = [];
	try {
		await target.start();
		const users = await target.createUsers(plan.pairs * 2);
		const pairs = Array.from({ length: plan.pairs }, (_, i) => [users[2 * i], users[2 * i + 1]]);
		const groupIds = await target.createGroups(pairs, "direct");
		const url = target.restUrl;
		clients.push(...(await inLanes(users, 20, async (user, i) => ({ socket: await connect(url, user), groupId: groupIds[Math.floor(i / 2)] }))));
		const text = content(plan.payloadBytes);
		const acks = new Acks();

		// Warm-up: the JIT, NeDB's indexes and the caches settle before anything is measured.
		await closedLoop(clients, 3000, text, acks);
		const maxPerSec = await closedLoop(clients, plan.probeMs, text, acks);
		const offeredPerSec = Math.round(maxPerSec * plan.factor);
		plan.log(`closed loop: ${Math.round(maxPerSec)} acknowledged sends/s; offering ${offeredPerSec}/s for ${plan.overloadMs / 1000} s`);
		const cpuBefore = await target.cpuSeconds();
		const overload = await openLoop(clients, offeredPerSec, plan.overloadMs, text, acks);
		const serverCores = ((await target.cpuSeconds())[0] - cpuBefore[0]) / ((plan.overloadMs + 0) / 1000);
		plan.log(`overload: ${overload.seconds.map(s => `${s.ok}/${s.offered}`).join(" ")} (ok/offered per second); unanswered ${overload.unanswered}`);
		const recoveryPerSec = await closedLoop(clients, plan.recoveryMs, text, acks);

		// The client's path after a refusal: wait retryAfterMs, send again with the same clientMessageId.
		const retry = [...acks.refused.values()].slice(0, plan.retries);
		let retriedStored = 0;
		await inLanes(retry, 50, async ({ client, clientMessageId }) => {
			for (let attempt = 0; attempt < 20; attempt++) {
				const { ack } = await send(client, clientMessageId, text);
				acks.record(client, clientMessageId, ack);
				if (ack.ok) return void retriedStored++;
				await new Promise(r => setTimeout(r, ack.error?.data?.retryAfterMs ?? 500));
			}
		});

		const refusedIds = new Set(acks.refused.keys());
		let stored = 0;
		let lost = 0;
		let duplicates = 0;
		let outOfOrder = 0;
		let refusedButStored = 0;
		await inLanes(groupIds, 8, async (groupId, g) => {
			const history = await historyOf(target, pairs[g][0].accessToken!, groupId);
			stored += history.length;
			const seen = new Map<string, number>();
			history.forEach((m, i) => {
				seen.set(m.id, (seen.get(m.id) ?? 0) + 1);
				if (m.seq !== i + 1) outOfOrder++;
				if (m.clientMessageId && refusedIds.has(m.clientMessageId)) refusedButStored++;
			});
			for (const [id, seq] of acks.byGroup.get(groupId) ?? []) {
				const n = seen.get(id) ?? 0;
				if (n === 0) lost++;
				else if (n > 1) duplicates++;
				else if (history[seq - 1]?.id !== id) outOfOrder++;
			}
		});
		return {
			cores,
			pinned: nodeCores != null,
			maxPerSec: Math.round(maxPerSec),
			offeredPerSec,
			seconds: overload.seconds,
			maxAnswerMs: Math.round(overload.maxAnswerMs),
			maxRefusalMs: Math.round(overload.maxRefusalMs),
			answerP99Ms: Math.round(overload.answerP99Ms),
			unanswered: overload.unanswered,
			rejectedTypes: overload.rejectedTypes,
			retryAfterMs: { min: overload.retryAfter.min === Infinity ? 0 : overload.retryAfter.min, max: overload.retryAfter.max },
			recoveryPerSec: Math.round(recoveryPerSec),
			serverCores: Math.round(serverCores * 100) / 100,
			retried: retry.length,
			retriedStored,
			acknowledged: acks.count,
			stored,
			lost,
			duplicates,
			outOfOrder,
			refusedButStored,
			serverLog: target.log()
		};
	} finally {
		for (const c of clients) c.socket.close();
		await target.stop();
		unpinThisProcess();
	}
}
