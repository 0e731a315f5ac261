import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";

/**
 * One process at a time on a DATA_DIR. NeDB rewrites a collection by writing `<file>~` and renaming it over
 * the file (on every load, and when compacting); two processes doing so at once (a restarted node starting
 * while the old one is still shutting down, or was never really killed) rename each other's `~` away, and
 * one fails with ENOENT on `<file>~`, or appends to a file the other just replaced (a lost write).
 *
 * The lock is a file naming its holder, touched every few seconds. A holder that is gone (its pid is dead on
 * this host, or it stopped touching the file: killed in another container) is replaced; a live one is waited
 * for, as long as a stopping node may take, then the start fails saying who holds the directory.
 */

const LOCK_FILE = ".lock";
const TOUCH_MS = 2000;
const STALE_MS = 10_000;

interface Holder {
	pid: number;
	host: string;
}

const held = new Map<string, { users: number; timer: NodeJS.Timeout; file: string }>();

/** Locks being waited for, per directory: every service of this process that opens a collection there waits on one. */
const acquiring = new Map<string, Promise<void>>();

export async function lockDataDir(dir: string, waitMs = 30_000): Promise<void> {
	const waiting = acquiring.get(dir);
	if (waiting) await waiting;
	const current = held.get(dir);
	if (current) {
		current.users++;
		return;
	}
	const acquired = acquire(dir, waitMs).finally(() => acquiring.delete(dir));
	acquiring.set(dir, acquired);
	await acquired;
}

async function acquire(dir: string, waitMs: number): Promise<void> {
	const file = path.join(dir, LOCK_FILE);
	const deadline = Date.now() + waitMs;
	let holder: Holder | null = null;
	for (;;) {
		try {
			writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }), { flag: "wx", mode: 0o644 });
			break;
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
		}
		holder = readHolder(file);
		if (!holder || gone(holder, file)) {
			rmSync(file, { force: true });
			continue;
		}
		if (Date.now() > deadline) throw new Error(`DATA_DIR ${dir} is in use by process ${holder.pid} on ${holder.host} (${file}); one node per data directory`);
		await new Promise(resolve => setTimeout(resolve, 100));
	}
	const timer = setInterval(() => {
		const now = new Date();
		try {
			utimesSync(file, now, now);
		} catch {
			// removed under us: the next start will notice nobody holds it
		}
	}, TOUCH_MS);
	timer.unref();
	held.set(dir, { users: 1, timer, file });
}

export function unlockDataDir(dir: string): void {
	const current = held.get(dir);
	if (!current || --current.users > 0) return;
	clearInterval(current.timer);
	held.delete(dir);
	if (readHolder(current.file)?.pid === process.pid) rmSync(current.file, { force: true });
}

function readHolder(file: string): Holder | null {
	try {
		const holder = JSON.parse(readFileSync(file, "utf8")) as Partial<Holder>;
		return typeof holder.pid === "number" && typeof holder.host === "string" ? (holder as Holder) : null;
	} catch {
		return null; // half-written by a process killed right then, or just removed
	}
}

function gone(holder: Holder, file: string): boolean {
	// Our own pid: a container restarted with the same pid 1 (the lock outlived its holder).
	if (holder.host === hostname() && (holder.pid === process.pid || !alive(holder.pid))) return true;
	// Elsewhere (or a reused pid): a holder stops touching the file when it dies.
	try {
		return Date.now() - statSync(file).mtimeMs > STALE_MS;
	} catch {
		return true;
	}
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}

process.once("exit", () => {
	for (const dir of [...held.keys()]) {
		const current = held.get(dir)!;
		current.users = 1;
		unlockDataDir(dir);
	}
});
