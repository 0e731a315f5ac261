import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { once } from "node:events";
import { GeneratorPool } from "../generator/pool.ts";
import { elapsedUs, nowNs, sleep } from "../lib/clock.ts";
import { newHistogram, percentilesMs, recordUs } from "../lib/histogram.ts";
import type { ScenarioResult } from "../lib/results.ts";
import { OurTarget, type BenchUser } from "../lib/targets.ts";
import { groupSeqKey } from "../../services/messages/documents.ts";
import { describeStep, emptyResult, markInvalidSteps, measuredStep, type BenchOptions } from "./common.ts";
import type { FanoutPlan } from "./fanout.ts";

const PAGE = 50;
const HISTORY_REQUESTS_PER_SEC = 20;
const SYNTHETIC_GROUPS = 999;

/**
 * Appends `count` messages to the NeDB datafile of a stopped node: half in the reader's conversation,
 * the rest over other conversation ids, in the on-disk format of services/messages/documents.ts MessageDoc (NeDB
 * writes dates as {"$$date": ms}), plus the reader's conversation head. Far faster than sending them.
 */
export async function seedMessages(dataDir: string, groupId: string, senderId: string, count: number): Promise<number> {
	const inGroup = Math.floor(count / 2);
	const prefix = randomBytes(6).toString("hex");
	const id = (n: number) => prefix + n.toString(16).padStart(12, "0");
	const others = Array.from({ length: SYNTHETIC_GROUPS }, () => randomBytes(12).toString("hex"));
	const out = createWriteStream(path.join(dataDir, "messages.db"), { flags: "a" });
	const t0 = Date.now() - count * 1000;
	const otherSeq = new Array(SYNTHETIC_GROUPS).fill(0);
	let chunk = "";
	for (let n = 0; n < count; n++) {
		let g: string;
		let seq: number;
		if (n < inGroup) {
			g = groupId;
			seq = n + 1;
		} else {
			const k = n % SYNTHETIC_GROUPS;
			g = others[k];
			seq = ++otherSeq[k];
		}
		const doc = {
			_id: id(n),
			groupId: g,
			seq,
			groupSeq: groupSeqKey(g, seq),
			senderId,
			content: `seeded message ${n} ${"x".repeat(60)}`,
			clientMessageId: null,
			attachments: [],
			createdAt: { $$date: t0 + n * 1000 },
			deletedAt: null
		};
		chunk += JSON.stringify(doc) + "\n";
		if (chunk.length > 1 << 20) {
			if (!out.write(chunk)) await once(out, "drain");
			chunk = "";
		}
	}
	out.write(chunk);
	out.end();
	await once(out, "finish");
	const heads = createWriteStream(path.join(dataDir, "heads.db"), { flags: "a" });
	heads.write(JSON.stringify({ _id: groupId, lastSeq: inGroup }) + "\n");
	heads.end();
	await once(heads, "finish");
	return inGroup;
}

/**
 * S4: pages of 50 from a long conversation (store of `messages` messages) at a fixed rate, while S1's
 * direct messages flow at its first ladder rate. The store is seeded by writing NeDB datafile lines directly.
 */
export async function runHistory(messages: number, s1: FanoutPlan, options: BenchOptions): Promise<ScenarioResult> {
	const pairs = s1.groups;
	const rate = s1.rates[0];
	const result = emptyResult("S4", "embedded", "ours", {
		storedMessages: messages,
		pairs,
		s1Rate: rate,
		pageSize: PAGE,
		pagesPerSec: HISTORY_REQUESTS_PER_SEC,
		seeding: "NeDB datafile lines written directly"
	});
	const dataDir = mkdtempSync(path.join(tmpdir(), "chat-bench-history-"));
	const env = { DATA_DIR: dataDir, JWT_SECRET: randomBytes(32).toString("hex") };
	let target = new OurTarget({ mode: "embedded", env });
	const pool = new GeneratorPool(options.workers, options.limits);
	try {
		await target.start();
		const users = await target.createUsers(pairs * 2 + 2);
		const [reader, writer] = users.slice(-2);
		const [historyGroup] = await target.createGroups([[reader, writer]], "group");
		const pairMembers: BenchUser[][] = Array.from({ length: pairs }, (_, p) => users.slice(p * 2, p * 2 + 2));
		const pairIds = await target.createGroups(pairMembers, "direct");
		await target.stop();

		const seedStarted = Date.now();
		const lastSeq = await seedMessages(dataDir, historyGroup, writer.userId, messages);
		result.setup.seedSeconds = Math.round((Date.now() - seedStarted) / 100) / 10;
		const loadStarted = Date.now();
		target = new OurTarget({ mode: "embedded", env });
		await target.start();
		result.setup.loadSeconds = Math.round((Date.now() - loadStarted) / 100) / 10;
		options.log(`S4: seeded ${messages} messages in ${result.setup.seedSeconds} s; node loaded them in ${result.setup.loadSeconds} s`);

		const connected = await pool.connect(
			"ours",
			target.clientSpecs(users.slice(0, pairs * 2), (_, i) => [pairIds[Math.floor(i / 2)]])
		);
		if (connected.failed > 0) throw new Error(`${connected.failed} clients failed to connect: ${connected.errorSample.join("; ")}`);
		const senders = pairIds.flatMap((groupId, p) => [0, 1].map(k => ({ client: p * 2 + k, groupId })));

		// History pages: open loop from this thread, each timed from its intended start.
		const hist = newHistogram();
		const errors: string[] = [];
		let requests = 0;
		let failures = 0;
		const pages = (async () => {
			await sleep(300);
			const start = nowNs();
			const total = Math.floor((HISTORY_REQUESTS_PER_SEC * options.durationMs) / 1000);
			const inFlight: Promise<void>[] = [];
			for (let k = 0; k < total; k++) {
				const intended = start + BigInt(Math.round((k * 1e9) / HISTORY_REQUESTS_PER_SEC));
				const wait = Number(intended - nowNs()) / 1e6;
				if (wait > 0) await sleep(wait);
				const before = PAGE + 1 + Math.floor(Math.random() * (lastSeq - PAGE));
				requests++;
				inFlight.push(
					fetch(`${target.restUrl}/api/messages/${historyGroup}?before=${before}&limit=${PAGE}`, { headers: { authorization: `Bearer ${reader.accessToken}` } })
						.then(async res => {
							const body = (await res.json()) as { items?: { seq: number }[] };
							recordUs(hist, elapsedUs(intended));
							if (!res.ok || body.items?.length !== PAGE || body.items[0].seq !== before - PAGE)
								throw new Error(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
						})
						.catch(err => {
							failures++;
							if (errors.length < 5) errors.push(String(err?.message ?? err));
						})
				);
			}
			await Promise.all(inFlight);
		})();
		const step = await measuredStep(pool, target, {
			senders,
			ratePerSender: rate / senders.length,
			durationMs: options.durationMs,
			payloadBytes: options.payloadBytes
		});
		await pages;
		result.steps.push(step);
		result.history = { requests, errors: failures, latency: percentilesMs(hist), errorSample: errors };
		options.log(`  S1 during history: ${describeStep(step, false)}`);
		options.log(
			`  history pages: ${requests} requests, ${failures} errors; p50 ${result.history.latency.p50} p99 ${result.history.latency.p99} max ${result.history.latency.max} ms`
		);
		result.summary = {
			storedMessages: messages,
			historyP50Ms: result.history.latency.p50,
			historyP99Ms: result.history.latency.p99,
			historyP999Ms: result.history.latency.p999,
			historyErrors: failures,
			s1RateMsgsPerSec: rate,
			s1DeliveryP99Ms: step.delivery.p99,
			lost: step.lost,
			duplicates: step.duplicates
		};
		markInvalidSteps(result);
	} catch (err) {
		result.valid = false;
		result.error = String((err as Error)?.stack ?? err);
		options.log(`S4 failed: ${(err as Error)?.message ?? err}`);
	} finally {
		await pool.close().catch(() => undefined);
		await target.stop().catch(() => undefined);
		rmSync(dataDir, { recursive: true, force: true });
	}
	return result;
}
