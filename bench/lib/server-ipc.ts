/**
 * The child side of a benchmarked server process: answers the harness over the IPC channel
 * (memory after a full GC, CPU used so far) and exits when the harness goes away.
 */

export interface MemorySample {
	rss: number;
	heapUsed: number;
	heapTotal: number;
	external: number;
	arrayBuffers: number;
}

export type ServerRequest = { type: "memory"; id: number } | { type: "cpu"; id: number };

export function answerHarness(ready: Record<string, unknown>, stop: () => Promise<void> = async () => {}): void {
	if (!process.send) throw new Error("bench servers are started by the harness, with an IPC channel");
	const gc = (globalThis as { gc?: () => void }).gc;
	process.on("message", (m: ServerRequest) => {
		if (m.type === "memory") {
			if (!gc) throw new Error("start with --expose-gc");
			// Twice: the first pass can leave objects with finalizers for the second.
			gc();
			gc();
			const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
			process.send!({ id: m.id, memory: { rss, heapUsed, heapTotal, external, arrayBuffers } });
		} else if (m.type === "cpu") {
			process.send!({ id: m.id, cpu: process.cpuUsage() });
		}
	});
	process.on("disconnect", () => {
		const force = setTimeout(() => process.exit(0), 5000);
		force.unref();
		stop().finally(() => process.exit(0));
	});
	process.send({ type: "ready", ...ready });
}
