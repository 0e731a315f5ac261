import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { after } from "node:test";
import kafkajs from "kafkajs";
import type { Consumer, Producer } from "kafkajs";
import type { EventEnvelope } from "../../lib/outbox.ts";

const { Kafka, logLevel, Partitioners } = kafkajs;

/** Whether Debian's kcat is installed; with CI=true a test that needs it fails instead of skipping. */
export function kcatAvailable(): boolean {
	return spawnSync("kcat", ["-V"], { stdio: "ignore" }).status === 0;
}

export const kcatSkip = (): string | false => (kcatAvailable() || process.env.CI === "true" ? false : "kcat is not installed (apt-get install -y kcat)");

const running = new Set<ChildProcess>();
process.once("exit", () => {
	for (const child of running) child.kill("SIGKILL");
});

export interface MockKafka {
	brokers: string[];
	stop(): Promise<void>;
}

/**
 * librdkafka's mock cluster, started through kcat: it prints its bootstrap address in the debug
 * output and serves (produce, consumer groups, auto-created topics) until killed.
 */
export function startMockKafka(timeoutMs = 20_000): Promise<MockKafka> {
	if (!kcatAvailable()) return Promise.reject(new Error("kcat is not installed (apt-get install -y kcat)"));
	const child = spawn("kcat", ["-b", "127.0.0.1:1", "-X", "test.mock.num.brokers=1", "-d", "mock", "-C", "-t", "probe"], {
		stdio: ["ignore", "ignore", "pipe"]
	});
	running.add(child);
	const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
	const stop = async () => {
		running.delete(child);
		if (child.exitCode == null && child.signalCode == null) child.kill("SIGKILL");
		await exited;
	};
	return new Promise((resolve, reject) => {
		let output = "";
		const timer = setTimeout(() => {
			void stop();
			reject(new Error(`kcat mock cluster did not report its address within ${timeoutMs} ms:\n${output.slice(-2000)}`));
		}, timeoutMs);
		const onData = (chunk: Buffer) => {
			output += chunk.toString();
			const match = /bootstrap\.servers=(\S+)/.exec(output);
			if (!match) return;
			clearTimeout(timer);
			// Keep draining stderr so the mock never blocks on a full pipe.
			output = "";
			child.stderr!.off("data", onData);
			child.stderr!.resume();
			resolve({ brokers: match[1].split(","), stop });
		};
		child.stderr!.on("data", onData);
		child.once("exit", code => {
			clearTimeout(timer);
			reject(new Error(`kcat exited (${code}) before reporting its address:\n${output.slice(-2000)}`));
		});
	});
}

/** A loopback port nothing listens on: Kafka "unreachable". */
export async function closedPort(): Promise<number> {
	const server = createServer();
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as { port: number };
	await new Promise<void>(resolve => server.close(() => resolve()));
	return port;
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
type Falsy = null | undefined | false | 0 | "";

export async function waitFor<T>(what: string, check: () => T | Falsy | Promise<T | Falsy>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	for (;;) {
		try {
			const value = await check();
			if (value) return value;
		} catch (err) {
			last = err;
		}
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
		await new Promise(resolve => setTimeout(resolve, everyMs));
	}
}

export interface StreamRecord {
	topic: string;
	partition: number;
	offset: string;
	key: string | null;
	event: EventEnvelope;
}

export interface Collector {
	records: StreamRecord[];
	stop(): Promise<void>;
}

const quietLogs = { logLevel: logLevel.NOTHING };

/** A consumer (its own group, from the beginning) gathering every envelope published on `topics`. */
export async function collectTopics(brokers: string[], topics: string[]): Promise<Collector> {
	const kafka = new Kafka({ clientId: "test-collector", brokers, ...quietLogs });
	const consumer: Consumer = kafka.consumer({
		groupId: `test-collector-${process.pid}-${Date.now()}-${Math.random().toString(16).slice(2)}`,
		sessionTimeout: 15_000,
		heartbeatInterval: 500,
		allowAutoTopicCreation: true,
		maxWaitTimeInMs: 200
	});
	const records: StreamRecord[] = [];
	await consumer.connect();
	await consumer.subscribe({ topics, fromBeginning: true });
	await consumer.run({
		eachMessage: async ({ topic, partition, message }) => {
			records.push({ topic, partition, offset: message.offset, key: message.key?.toString() ?? null, event: JSON.parse(message.value!.toString()) });
		}
	});
	return { records, stop: () => consumer.disconnect() };
}

/** Produces raw values (strings are sent as they are) to a topic. */
export async function produce(brokers: string[], topic: string, records: { key?: string; value: string }[]): Promise<void> {
	const kafka = new Kafka({ clientId: "test-producer", brokers, ...quietLogs });
	const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, createPartitioner: Partitioners.DefaultPartitioner });
	await producer.connect();
	try {
		await producer.send({ topic, acks: -1, messages: records });
	} finally {
		await producer.disconnect();
	}
}

/** The first appearance of every event id, in consumption order: what a de-duplicating consumer keeps. */
export function firstSeen(records: StreamRecord[]): StreamRecord[] {
	const seen = new Set<string>();
	return records.filter(r => (seen.has(r.event.id) ? false : (seen.add(r.event.id), true)));
}

export interface ChatProcess {
	url: string;
	/** SIGKILL: no shutdown hooks, nothing flushed beyond what the store already wrote. */
	kill(): Promise<void>;
}

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * A whole chat node in a child process, configured through the environment like production
 * (so it can be killed -9). Resolves once its API listens.
 */
export function spawnChatNode(env: Record<string, string>, timeoutMs = 60_000): Promise<ChatProcess> {
	const script = `
		const { loadConfig } = await import(${JSON.stringify(ROOT + "lib/config.ts")});
		const { startNode } = await import(${JSON.stringify(ROOT + "app/node.ts")});
		const broker = await startNode(loadConfig(process.env));
		console.log("LISTENING " + broker.getLocalService("api").server.address().port);
	`;
	const child = spawn(process.execPath, ["--disable-warning=DEP0174", "--input-type=module", "-e", script], {
		cwd: ROOT,
		env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "error", BCRYPT_COST: "4", ...env },
		stdio: ["ignore", "pipe", "pipe"]
	});
	running.add(child);
	const exited = new Promise<void>(resolve => child.once("exit", () => resolve()));
	const kill = async () => {
		running.delete(child);
		if (child.exitCode == null && child.signalCode == null) child.kill("SIGKILL");
		await exited;
	};
	let errors = "";
	child.stderr!.on("data", chunk => (errors = (errors + chunk.toString()).slice(-4000)));
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			void kill();
			reject(new Error(`chat node did not start within ${timeoutMs} ms:\n${errors}`));
		}, timeoutMs);
		let output = "";
		child.stdout!.on("data", chunk => {
			output += chunk.toString();
			const match = /LISTENING (\d+)/.exec(output);
			if (!match) return;
			clearTimeout(timer);
			resolve({ url: `http://127.0.0.1:${match[1]}`, kill });
		});
		child.once("exit", code => {
			clearTimeout(timer);
			reject(new Error(`chat node exited (${code}) before listening:\n${errors}`));
		});
	});
}

/** Registers an `after` hook that runs the returned `defer`'s cleanups in reverse order. */
export function deferredCleanups(): (cleanup: () => unknown) => void {
	const cleanups: (() => unknown)[] = [];
	after(async () => {
		for (const cleanup of cleanups.reverse()) await cleanup();
	});
	return cleanup => void cleanups.push(cleanup);
}
