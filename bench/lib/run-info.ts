import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./child.ts";
import type { RunFile } from "./results.ts";

/** What a result file records about where it ran: the machine and the versions of what was measured. */

export function machineInfo(): RunFile["machine"] {
	return {
		cpus: os.cpus()[0]?.model ?? "?",
		cores: os.cpus().length,
		memoryGB: Math.round(os.totalmem() / 2 ** 30),
		platform: `${os.type()} ${os.release()} ${os.arch()}`,
		loadAverageAtStart: os.loadavg().map(l => Math.round(l * 100) / 100)
	};
}

export function versions(): Record<string, string> {
	const pkg = (name: string) => {
		try {
			return JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version as string;
		} catch {
			return "?";
		}
	};
	return {
		node: process.version,
		moleculer: pkg("moleculer"),
		"socket.io": pkg("socket.io"),
		"socket.io-client": pkg("socket.io-client"),
		ws: pkg("ws"),
		"@seald-io/nedb": pkg("@seald-io/nedb")
	};
}
