import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

/**
 * Which cores each process of a cluster benchmark runs on (taskset lists): the load generator on the first ones,
 * then the core node, then one core per socket node; whatever is left runs the broker, Redis and the kernel.
 */
export interface ClusterLayout {
	generator: string;
	core: string;
	sockets: string[];
}

export interface LayoutRequest {
	cores: number;
	generatorCores: number;
	coreNodeCores: number;
	socketNodes: number;
}

/** The layout, or null when the processes do not each get their own cores on this machine. */
export function clusterLayout({ cores, generatorCores, coreNodeCores, socketNodes }: LayoutRequest): ClusterLayout | null {
	if (generatorCores < 1 || coreNodeCores < 1 || generatorCores + coreNodeCores + socketNodes > cores) return null;
	const span = (from: number, count: number) => (count === 1 ? String(from) : `${from}-${from + count - 1}`);
	return {
		generator: span(0, generatorCores),
		core: span(generatorCores, coreNodeCores),
		sockets: Array.from({ length: socketNodes }, (_, i) => String(generatorCores + coreNodeCores + i))
	};
}

/**
 * Pins this process (every thread it has, and the threads and children it starts later) to `cpus`; false where
 * taskset is missing or refuses.
 */
export function pinThisProcess(cpus: string): boolean {
	try {
		execFileSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
		return true;
	} catch {
		return false;
	}
}

/** The cores this process may use, read before anything is pinned (availableParallelism() then counts only the pinned ones). */
const UNPINNED = ((): string => {
	try {
		return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync("/proc/self/status", "utf8"))![1];
	} catch {
		return `0-${os.availableParallelism() - 1}`;
	}
})();

export function unpinThisProcess(): void {
	pinThisProcess(UNPINNED);
}
