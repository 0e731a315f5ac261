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
	private readonly file: NedbFile["persistence"];
	private fd: number | null = null;
	private lines = "";
	/** The unwritten end of a batch a failed write() cut short: it goes first, so the torn line is completed. */
	private rest: Buffer | null = null;
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

	/** Settles when everything queued so far is written; null when nothing is waiting. */
	pending(): Promise<void> | null {
		return this.batch?.promise ?? null;
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
			batch.resolve();
		} catch (err) {
			// What was not written stays queued, in order, for the next batch; this batch's callers see the failure, as a failed append did before.
			this.rest = bytes.subarray(at);
			this.closeFile();
			batch.reject(err);
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
