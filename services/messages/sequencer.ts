import { Errors } from "moleculer";
import { overloaded } from "../../lib/errors.ts";
import { retryAfterMs, ServiceTime } from "../../lib/overload.ts";
import { DuplicateKeyError, type Collection } from "../../mixins/db.mixin.ts";
import type { MessageDoc } from "./documents.ts";

export type SequencedLog = Pick<Collection<MessageDoc>, "insert" | "findOne"> & Partial<Pick<Collection<MessageDoc>, "insertQueued">>;

export interface Sequenced {
	doc: MessageDoc;
	/** A retried send: `doc` is the copy stored first, nothing new was stored. */
	duplicate: boolean;
}

const MAX_ATTEMPTS = 8;

export interface SequencerOptions {
	/** The conversation's last version as stored (changes.ts storedLastVersion); without it versions follow seqs. */
	storedLastVersion?: (groupId: string) => Promise<number>;
	/** Last seqs kept in memory. */
	cacheSize?: number;
	/** Sends of one conversation waiting for (or holding) its lock; the next one is refused with 503 SERVICE_OVERLOADED. */
	maxQueued?: number;
}

/**
 * Hands out the conversation's next version to one write under its lock: the write stores it (or throws
 * DuplicateKeyError), or resolves to null when it found nothing to change, which leaves the version unused.
 */
export type Stamp = <R>(write: (version: number) => Promise<R | null>) => Promise<R | null>;

/**
 * Gives each message of a conversation the next seq, and every change of a conversation's messages
 * (a send, an edit, a delete) the next version of its change counter, under the same per-conversation lock. All sends of one conversation go to the same node
 * (sharded by groupId), where they queue behind one another; the unique groupSeq index is the last word
 * if two nodes ever race (during a rebalance), and the loser reads the store again and retries.
 * The queue of a conversation is bounded: one conversation flooded cannot hold the node's memory or make
 * its own senders wait out their timeouts; past the bound a send is refused at once and retried by its client.
 */
export class Sequencer {
	private readonly log: SequencedLog;
	private readonly storedLastSeq: (groupId: string) => Promise<number>;
	private readonly storedLastVersion: (groupId: string) => Promise<number>;
	private readonly cacheSize: number;
	private readonly maxQueued: number;
	/** Sends per group in its chain (the one storing and those waiting). */
	private readonly queued = new Map<string, number>();
	/** How long one store under the lock takes, to tell a refused client when the queue will have drained. */
	private readonly storeTime = new ServiceTime(2);
	/** Last seq per group as this node knows it: a bounded cache, the store decides. */
	private readonly lastSeqs = new Map<string, number>();
	/** Last version per group as this node knows it, kept like lastSeqs. */
	private readonly lastVersions = new Map<string, number>();
	/** Tail of the per-group chain that serializes seq assignment on this node. */
	private readonly locks = new Map<string, Promise<unknown>>();

	constructor(log: SequencedLog, storedLastSeq: (groupId: string) => Promise<number>, options: SequencerOptions = {}) {
		this.log = log;
		this.storedLastSeq = storedLastSeq;
		this.storedLastVersion = options.storedLastVersion ?? storedLastSeq;
		this.cacheSize = options.cacheSize ?? 10_000;
		this.maxQueued = options.maxQueued ?? 64;
	}

	/** Refuses (503 SERVICE_OVERLOADED) when the conversation's queue is full: called before a send does any work. */
	admit(groupId: string): void {
		const queued = this.queued.get(groupId) ?? 0;
		if (queued >= this.maxQueued) throw overloaded(retryAfterMs(queued * this.storeTime.ms));
	}

	/** The message first stored with this clientKey (a retried send), if any. */
	firstCopy(clientKey: string): Promise<MessageDoc | null> {
		return this.log.findOne({ clientKey });
	}

	/**
	 * `build` makes the document for a seq and version; `onStored` runs once the message is written, in seq order, so
	 * whatever it announces goes out in seq order. The lock is held only until the store holds the message: the next
	 * send of the conversation takes its seq while this one's line is still being written (group commit), so a busy
	 * conversation is not held to one send per disk write. `prepare` runs first under the lock, for what `build` must
	 * read as no change of the conversation can move it (a reply's original).
	 */
	store(
		groupId: string,
		build: (seq: number, version: number) => MessageDoc,
		onStored: (doc: MessageDoc) => void,
		prepare?: () => Promise<void>
	): Promise<Sequenced> {
		try {
			this.admit(groupId);
		} catch (err) {
			return Promise.reject(err);
		}
		return this.withGroupLock(groupId, async () => {
			const started = performance.now();
			try {
				if (prepare) await prepare();
				return await this.assign(groupId, build, onStored);
			} finally {
				this.storeTime.record(performance.now() - started);
			}
		}).then(async ({ announced, ...sequenced }) => {
			await announced;
			return sequenced;
		});
	}

	/**
	 * Edits and deletes of a conversation: `work` runs under the conversation's lock (after the sends and
	 * changes queued before it) and `stamp`s each of its writes with the next version. Whatever it announces
	 * goes out in version order.
	 */
	change<T>(groupId: string, work: (stamp: Stamp) => Promise<T>): Promise<T> {
		try {
			this.admit(groupId);
		} catch (err) {
			return Promise.reject(err);
		}
		const stamp: Stamp = async write => {
			for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
				const version = (await this.lastVersionOf(groupId)) + 1;
				try {
					const result = await write(version);
					if (result != null) this.lastVersions.set(groupId, version);
					return result;
				} catch (err) {
					if (!(err instanceof DuplicateKeyError)) throw err;
					// Another node gave this version (a write that reached a node not owning the conversation).
					this.lastVersions.delete(groupId);
				}
			}
			throw versionConflict();
		};
		return this.withGroupLock(groupId, () => work(stamp));
	}

	private async assign(
		groupId: string,
		build: (seq: number, version: number) => MessageDoc,
		onStored: (doc: MessageDoc) => void
	): Promise<Sequenced & { announced?: Promise<void> }> {
		for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
			const seq = (await this.lastSeqOf(groupId)) + 1;
			// Versions count seqs too (a send is a change), so a conversation from before versions starts past its last seq.
			const doc = build(seq, Math.max(await this.lastVersionOf(groupId), seq - 1) + 1);
			try {
				const written = this.log.insertQueued ? (await this.log.insertQueued(doc)).written : this.log.insert(doc).then(() => undefined);
				if (!this.log.insertQueued) await written;
				this.lastSeqs.set(groupId, doc.seq);
				if (doc.version != null) this.lastVersions.set(groupId, doc.version);
				// Registered under the lock, in seq order, on writes that complete in the same order.
				const announced = written.then(() => onStored(doc));
				announced.catch(() => undefined);
				return { doc, duplicate: false, announced };
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
				if (doc.clientKey) {
					const first = await this.firstCopy(doc.clientKey);
					if (first) return { doc: first, duplicate: true };
				}
				// Another node stored this seq or version: forget what we knew and read the store again.
				this.lastSeqs.delete(groupId);
				this.lastVersions.delete(groupId);
			}
		}
		throw new Errors.MoleculerRetryableError("Could not assign a sequence number, try again", 503, "SEQUENCE_CONFLICT");
	}

	private withGroupLock<T>(groupId: string, work: () => Promise<T>): Promise<T> {
		this.queued.set(groupId, (this.queued.get(groupId) ?? 0) + 1);
		const previous = this.locks.get(groupId) ?? Promise.resolve();
		const run = previous.then(work, work);
		const tail = run.catch(() => undefined);
		this.locks.set(groupId, tail);
		void tail.then(() => {
			const left = this.queued.get(groupId)! - 1;
			if (left === 0) this.queued.delete(groupId);
			else this.queued.set(groupId, left);
			if (this.locks.get(groupId) === tail) this.locks.delete(groupId);
		});
		return run;
	}

	private lastSeqOf(groupId: string): Promise<number> {
		return this.cached(this.lastSeqs, groupId, this.storedLastSeq);
	}

	private lastVersionOf(groupId: string): Promise<number> {
		return this.cached(this.lastVersions, groupId, this.storedLastVersion);
	}

	private async cached(cache: Map<string, number>, groupId: string, stored: (groupId: string) => Promise<number>): Promise<number> {
		const known = cache.get(groupId);
		if (known != null) return known;
		const value = await stored(groupId);
		if (cache.size >= this.cacheSize) cache.delete(cache.keys().next().value!);
		cache.set(groupId, value);
		return value;
	}
}

const versionConflict = () => new Errors.MoleculerRetryableError("Could not assign a version, try again", 503, "SEQUENCE_CONFLICT");
