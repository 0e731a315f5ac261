import { closeSync, openSync, writeSync } from "node:fs";
import { type CompactableDatastore, type CompactionOptions, DatafileCompaction } from "./compaction.ts";
import { datafileLine } from "./datafile-line.ts";

/** The part of a file-backed NeDB datastore that group commit takes over. */
export interface NedbFile extends CompactableDatastore {
	persistence: CompactableDatastore["persistence"] & {
		inMemoryOnly: boolean;
		persistNewStateAsync(docs: object[]): Promise<void>;
		persistCachedDatabaseAsync(): Promise<void>;
	};
}

/** How often a store whose last write failed tries again (on the next operation that needs it written). */
const RETRY_MS = 1000;

/** 503: retryable, and the caller's retry (same clientMessageId) is stored once the disk takes writes again. */
function storageFailure(filename: string, cause: unknown): Error {
	const reason = (cause as { code?: string })?.code ?? (cause as Error)?.message ?? String(cause);
	return Object.assign(new Error(`${filename}: writing to the datafile failed (${reason}); nothing is answered from it until it works again`), {
		code: 503,
		type: "STORAGE_UNAVAILABLE",
		retryable: true,
		cause
	});
}

interface Batch {
	promise: Promise<void>;
	resolve(): void;
	reject(reason: unknown): void;
}

/**
 * One append per datastore per event-loop turn instead of one per document. NeDB runs one operation
 * at a time per datastore and waited for each append before the next; now an operation only queues its
 * lines (same bytes, same order) and the batch is written with one synchronous write() on a file kept
 * open, in the check phase of the loop that queued it. The collection answers a write, and any read,
 * only once `pending()` has settled: what a caller sees has reached the OS, as before, and nothing
 * read from the store can leave the process ahead of its own line.
 */
export class GroupCommit {
	/** Appends written (syscalls) by this datastore and by all of them, for the benchmarks. */
	appends = 0;
	static appends = 0;
	/** Datafiles of this process holding lines a failed write() left unwritten (the readiness probe reports them). */
	static readonly failing = new Set<string>();
	private readonly file: NedbFile["persistence"];
	private fd: number | null = null;
	private lines = "";
	/** The unwritten end of a batch a failed write() cut short: it goes first, so the torn line is completed. */
	private rest: Buffer | null = null;
	private failedAt = 0;
	private failure: Error | null = null;
	private batch: Batch | null = null;
	/** Rewrites the file while the appends go on; NeDB's own compaction (`compactDatafileAsync`) runs it too. */
	readonly compaction: DatafileCompaction;

	constructor(db: NedbFile, compactionOptions: CompactionOptions = {}) {
		this.file = db.persistence;
		this.file.persistNewStateAsync = async docs => this.queue(docs);
		this.compaction = new DatafileCompaction(db, this, compactionOptions);
		this.file.persistCachedDatabaseAsync = async () => {
			await this.compaction.run();
		};
	}

	/**
	 * Settles when everything queued so far is written; null when nothing is waiting. After a failed write()
	 * it rejects until the lines it left are written (tried again at most every RETRY_MS): until then the
	 * store holds documents that are not on disk, and nothing may answer from them — a retried send would
	 * otherwise find its first copy in memory and be told it was stored.
	 */
	pending(): Promise<void> | null {
		if (this.batch) return this.batch.promise;
		if (!this.rest) return null;
		if (Date.now() - this.failedAt < RETRY_MS) return Promise.reject(this.failure);
		this.queue([]);
		const retried = this.batch!.promise;
		this.flush();
		return retried;
	}

	/** Writes what is queued now and closes the file (it reopens on the next write); a compaction under way is abandoned. */
	close(): void {
		this.compaction.abandon();
		this.flush();
		this.closeFile();
	}

	/** Writes what is queued now, ahead of its turn; throws when part of it stays unwritten (it stays queued). */
	writeQueued(): void {
		this.flush();
		if (this.rest) throw new Error(`${this.file.filename}: queued lines could not be written`);
	}

	/** The next batch opens the file by name: it was just replaced. */
	reopen(): void {
		this.closeFile();
	}

	private queue(docs: object[]): void {
		for (const doc of docs) this.lines += datafileLine(this.file, doc) + "\n";
		if ((!this.lines && !this.rest) || this.batch) return;
		let resolve!: () => void;
		let reject!: (reason: unknown) => void;
		const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
		this.batch = { promise, resolve, reject };
		setImmediate(() => this.flush());
	}

	private flush(): void {
		const batch = this.batch;
		if (!batch) return;
		this.batch = null;
		const lines = Buffer.from(this.lines, "utf8");
		const bytes = this.rest ? Buffer.concat([this.rest, lines]) : lines;
		this.lines = "";
		this.rest = null;
		let at = 0;
		try {
			this.fd ??= openSync(this.file.filename, "a", 0o644);
			while (at < bytes.length) at += writeSync(this.fd, bytes, at);
			this.appends++;
			GroupCommit.appends++;
			GroupCommit.failing.delete(this.file.filename);
			batch.resolve();
		} catch (err) {
			// What was not written stays queued, in order, for the next batch; this batch's callers see the failure, as a failed append did before.
			this.rest = bytes.subarray(at);
			this.failedAt = Date.now();
			this.failure = storageFailure(this.file.filename, err);
			GroupCommit.failing.add(this.file.filename);
			this.closeFile();
			batch.reject(this.failure);
		}
	}

	private closeFile(): void {
		if (this.fd == null) return;
		const fd = this.fd;
		this.fd = null;
		try {
			closeSync(fd);
		} catch {
			// Closing cannot lose what write() already handed to the OS.
		}
	}
}
