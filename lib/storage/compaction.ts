import { existsSync, fstatSync, fsyncSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { datafileLine } from "./datafile-line.ts";
import type { IndexKeys } from "./nedb-keys.ts";

/** The parts of a file-backed NeDB datastore a compaction reads: its `_id` index, its other indexes, its file. */
export interface CompactableDatastore {
	indexes: Record<string, { unique: boolean; sparse: boolean; tree: IndexKeys }>;
	emit?(event: string): unknown;
	persistence: {
		filename: string;
		afterSerialization(line: string): string;
		modes?: { fileMode: number };
	};
}

/** What the writer of the datafile's appends (the group commit) lends a compaction. */
export interface DatafileAppender {
	/** Writes every queued line now; throws when some could not be written. */
	writeQueued(): void;
	/** The next append opens the datafile by name again (it was just renamed over). */
	reopen(): void;
}

export interface CompactionOptions {
	/** Longest stretch of serializing documents before the event loop gets its turn. */
	sliceMs?: number;
	/** Most serialized text written to `<file>~` at a time. */
	sliceChars?: number;
}

export interface CompactionResult {
	/** false: abandoned (the datastore was closed); the datafile is as it was. */
	done: boolean;
	documents: number;
	/** Size of the rewritten datafile: the documents plus the lines appended meanwhile. */
	bytes: number;
	/** Size of the longest synchronous step: the last catch-up, fsync and rename. */
	finalStepMs: number;
	totalMs: number;
}

/** Below this much growth since the last compaction a file is left alone, whatever its live size. */
export const MIN_GROWTH_BYTES = 4 * 2 ** 20;
/** How often the file size is compared with what it was when compacted. */
export const COMPACTION_CHECK_MS = 30_000;
/** The appends are copied in steps that yield until this little is left for the final step. */
const CATCH_UP_BYTES = 256 * 2 ** 10;
const COPY_CHUNK = 1 << 20;

/**
 * A file grown by appends is rewritten once the appends since the last rewrite outweigh what that rewrite
 * wrote: the file stays under about twice its live size (plus the minimum), and each rewrite costs no more than
 * the appends it reclaims. A file opened at start counts as just compacted: its garbage is at most what the
 * previous run left, itself bounded the same way.
 */
export function compactionDue(fileBytes: number, compactedBytes: number): boolean {
	return fileBytes - compactedBytes > Math.max(compactedBytes, MIN_GROWTH_BYTES);
}

/**
 * Rewrites one NeDB datafile from memory without stalling the node: NeDB's compaction, done in slices.
 * Once the queued appends are written, the file's size marks a point: every change after it (an insert, the
 * whole updated document, a `$$deleted` or index line) is appended after that size, and NeDB's loader keeps the
 * last line of each `_id`. So the rewrite is: every document as the store holds it, in `_id` order, a slice per
 * event-loop turn (each slice walks the `_id` index again from the key the last one reached, as the tree
 * rebalances in between), into `<file>~`, then every byte appended after the mark. A document untouched since
 * the mark is written once, as it was; one changed meanwhile may be written in either version, or not at all,
 * and its last line, appended after the mark, decides. One synchronous step copies the last appended bytes,
 * fsyncs and renames `<file>~` over the file. Until that rename the datafile is the old one, complete, and NeDB's
 * loader ignores a `<file>~` next to an existing file; after it, the new one holds every line. NeDB's in-memory
 * state is only read.
 */
export class DatafileCompaction {
	private readonly db: CompactableDatastore;
	private readonly appender: DatafileAppender;
	private readonly sliceMs: number;
	private readonly sliceChars: number;
	private running: Promise<CompactionResult> | null = null;
	private abandoned = false;
	private timer: NodeJS.Timeout | null = null;
	/** What the last compaction wrote from memory (at start: the file as found). */
	private compactedBytes: number;

	constructor(db: CompactableDatastore, appender: DatafileAppender, options: CompactionOptions = {}) {
		this.db = db;
		this.appender = appender;
		this.sliceMs = options.sliceMs ?? 4;
		this.sliceChars = options.sliceChars ?? 1 << 20;
		const { filename } = db.persistence;
		this.compactedBytes = existsSync(filename) ? statSync(filename).size : 0;
		// Left by a compaction that did not finish; NeDB only reads it when the datafile itself is missing.
		if (existsSync(filename)) rmSync(`${filename}~`, { force: true });
	}

	/** Compacts now, or joins the compaction under way. */
	run(): Promise<CompactionResult> {
		if (!this.running) {
			this.abandoned = false;
			this.running = this.compact().finally(() => (this.running = null));
		}
		return this.running;
	}

	/** Checks the file's growth every `intervalMs` and compacts when due (see compactionDue). */
	watch(onError: (err: unknown) => void, intervalMs = COMPACTION_CHECK_MS): void {
		this.unwatch();
		this.timer = setInterval(() => {
			if (this.running) return;
			let size: number;
			try {
				size = statSync(this.db.persistence.filename).size;
			} catch {
				return; // not written yet
			}
			if (compactionDue(size, this.compactedBytes)) this.run().catch(onError);
		}, intervalMs);
		this.timer.unref();
	}

	/**
	 * Abandons a compaction under way: it renames nothing, its `<file>~` is removed now (and again as it settles,
	 * should an open of it have been in flight). For a datastore closing synchronously; `stop` also ends the watch
	 * and waits for the compaction to let go of its files.
	 */
	abandon(): void {
		if (!this.running) return;
		this.abandoned = true;
		rmSync(`${this.db.persistence.filename}~`, { force: true });
	}

	async stop(): Promise<void> {
		const running = this.running;
		this.unwatch();
		this.abandon();
		await running?.catch(() => undefined);
	}

	private unwatch(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	private async compact(): Promise<CompactionResult> {
		const started = performance.now();
		const { filename } = this.db.persistence;
		const temp = `${filename}~`;
		// The old file's last reference, once renamed over: closed off the event loop, where the kernel frees its blocks.
		const live = await open(filename, "r");
		let out: FileHandle | null = null;
		let renamed = false;
		let documents = 0;
		try {
			this.appender.writeQueued();
			const indexLines = this.indexLines();
			let copiedTo = fstatSync(live.fd).size;
			out = await open(temp, "w", this.db.persistence.modes?.fileMode ?? 0o644);
			let compacted = 0;
			let reached: { key: unknown } | undefined;
			for (let walked = false; !walked;) {
				if (this.abandoned) return abandonedResult(documents, started);
				let text = "";
				const until = performance.now() + this.sliceMs;
				walked = true;
				for (const { key, doc } of this.db.indexes._id.tree.documentsAfter(reached)) {
					text += datafileLine(this.db.persistence, doc) + "\n";
					reached = { key };
					if ((++documents & 63) === 0 && (text.length >= this.sliceChars || performance.now() > until)) {
						walked = false;
						break;
					}
				}
				compacted += await writeAll(out, Buffer.from(text, "utf8"));
			}
			compacted += await writeAll(out, Buffer.from(indexLines, "utf8"));
			copiedTo = await this.catchUp(live, out, copiedTo);
			// Most of the file reaches the disk here, off the event loop: the final fsync has little left.
			await out.sync();
			copiedTo = await this.catchUp(live, out, copiedTo);
			if (this.abandoned) return abandonedResult(documents, started);

			const finalStep = performance.now();
			this.appender.writeQueued();
			copyRange(live.fd, out.fd, copiedTo, fstatSync(live.fd).size);
			fsyncSync(out.fd);
			renameSync(temp, filename);
			renamed = true;
			this.appender.reopen();
			const finalStepMs = performance.now() - finalStep;

			this.compactedBytes = compacted;
			const bytes = (await out.stat()).size;
			await syncDirectory(path.dirname(filename));
			this.db.emit?.("compaction.done");
			return { done: true, documents, bytes, finalStepMs, totalMs: performance.now() - started };
		} finally {
			if (!renamed) rmSync(temp, { force: true });
			await Promise.all([live.close(), out?.close()]);
		}
	}

	/** NeDB's `$$indexCreated` lines for the indexes other than `_id`, as its own compaction writes them. */
	private indexLines(): string {
		let lines = "";
		for (const [fieldName, index] of Object.entries(this.db.indexes)) {
			if (fieldName === "_id") continue;
			lines += datafileLine(this.db.persistence, { $$indexCreated: { fieldName, unique: index.unique, sparse: index.sparse } }) + "\n";
		}
		return lines;
	}

	/** Copies what was appended to the live file after `from`, a chunk per turn, until little is left. */
	private async catchUp(live: FileHandle, out: FileHandle, from: number): Promise<number> {
		let at = from;
		for (;;) {
			const end = fstatSync(live.fd).size;
			if (end - at <= CATCH_UP_BYTES || this.abandoned) return at;
			at = copyRange(live.fd, out.fd, at, Math.min(end, at + COPY_CHUNK));
			await new Promise(resolve => setImmediate(resolve));
		}
	}
}

function abandonedResult(documents: number, started: number): CompactionResult {
	return { done: false, documents, bytes: 0, finalStepMs: 0, totalMs: performance.now() - started };
}

async function writeAll(out: FileHandle, bytes: Buffer): Promise<number> {
	let at = 0;
	while (at < bytes.length) at += (await out.write(bytes, at)).bytesWritten;
	return bytes.length;
}

/** Appends bytes [from, to) of `source` to `target`; returns `to`. */
function copyRange(source: number, target: number, from: number, to: number): number {
	const chunk = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(to - from, 1)));
	for (let at = from; at < to;) {
		const read = readSync(source, chunk, 0, Math.min(chunk.length, to - at), at);
		if (read === 0) throw new Error(`datafile shrank during compaction at ${at} of ${to}`);
		for (let written = 0; written < read;) written += writeSync(target, chunk, written, read - written);
		at += read;
	}
	return to;
}

/** Makes the rename durable; like NeDB, tolerates file systems that cannot fsync a directory. */
async function syncDirectory(dir: string): Promise<void> {
	let handle: FileHandle | null = null;
	try {
		handle = await open(dir, "r");
		await handle.sync();
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL") throw err;
	} finally {
		await handle?.close();
	}
}
