import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MemorySample } from "./server-ipc.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const s = createServer();
		s.once("error", reject);
		s.listen(0, "127.0.0.1", () => {
			const port = (s.address() as { port: number }).port;
			s.close(() => resolve(port));
		});
	});
}

/** A server under test, in its own process (so its memory and CPU are its own), driven over IPC. */
export class ServerProcess {
	readonly name: string;
	private readonly child: ChildProcess;
	private nextId = 1;
	private readonly pending = new Map<number, (m: any) => void>();
	private readonly output: string[] = [];
	readonly ready: Promise<Record<string, unknown>>;

	/** `cpus`: a taskset list (e.g. "1-3") the process is pinned to, away from the load generator. */
	constructor(name: string, entry: string, env: Record<string, string>, nodeArgs: string[] = [], cpus?: string) {
		this.name = name;
		const args = ["--expose-gc", "--disable-warning=DEP0174", ...nodeArgs, path.join(ROOT, entry)];
		this.child = spawn(cpus ? "taskset" : process.execPath, cpus ? ["-c", cpus, process.execPath, ...args] : args, {
			cwd: ROOT,
			env: { ...process.env, ...env },
			stdio: ["ignore", "pipe", "pipe", "ipc"]
		});
		// BENCH_SERVER_LOG=<dir>: each node's whole output also goes to <dir>/<name>.log (e.g. with --trace-gc).
		const logFile = process.env.BENCH_SERVER_LOG ? path.join(process.env.BENCH_SERVER_LOG, `${name}.log`) : null;
		if (logFile) mkdirSync(path.dirname(logFile), { recursive: true });
		const keep = (chunk: Buffer) => {
			if (logFile) appendFileSync(logFile, chunk);
			this.output.push(chunk.toString());
			if (this.output.length > 200) this.output.splice(0, 100);
		};
		this.child.stdout!.on("data", keep);
		this.child.stderr!.on("data", keep);
		this.ready = new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`${name} did not start within 180 s:\n${this.log()}`)), 180_000);
			this.child.on("message", (m: any) => {
				if (m?.type === "ready") {
					clearTimeout(timer);
					resolve(m);
				} else if (m?.id != null) {
					this.pending.get(m.id)?.(m);
					this.pending.delete(m.id);
				}
			});
			this.child.once("exit", code => {
				clearTimeout(timer);
				reject(new Error(`${name} exited (${code}) before it was ready:\n${this.log()}`));
			});
		});
	}

	log(): string {
		return this.output.join("").split("\n").slice(-40).join("\n");
	}

	get pid(): number {
		return this.child.pid!;
	}

	private request<T>(type: string): Promise<T> {
		const id = this.nextId++;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`${this.name}: no answer to ${type}`)), 60_000);
			this.pending.set(id, m => {
				clearTimeout(timer);
				resolve(m);
			});
			this.child.send({ type, id });
		});
	}

	async memory(): Promise<MemorySample> {
		return (await this.request<{ memory: MemorySample }>("memory")).memory;
	}

	/** CPU seconds (user + system) this process has used so far. */
	async cpuSeconds(): Promise<number> {
		const { cpu } = await this.request<{ cpu: NodeJS.CpuUsage }>("cpu");
		return (cpu.user + cpu.system) / 1e6;
	}

	async stop(): Promise<void> {
		if (this.child.exitCode != null) return;
		const exited = new Promise(resolve => this.child.once("exit", resolve));
		this.child.disconnect();
		const force = setTimeout(() => this.child.kill("SIGKILL"), 15_000);
		await exited;
		clearTimeout(force);
	}
}
