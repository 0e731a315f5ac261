import { Errors } from "moleculer";
import { overloaded } from "../../lib/errors.ts";
import { retryAfterMs, ServiceTime } from "../../lib/overload.ts";
import { DuplicateKeyError, type Collection } from "../../mixins/db.mixin.ts";
import type { MessageDoc } from "./documents.ts";

export type SequencedLog = Pick<Collection<MessageDoc>, "insert" | "findOne">;

export interface Sequenced {
	doc: MessageDoc;
	/** A retried send: `doc` is the copy stored first, nothing new was stored. */
	duplicate: boolean;
}

const MAX_ATTEMPTS = 8;

export interface SequencerOptions {
	/** Last seqs kept in memory. */
	cacheSize?: number;
	/** Sends of one conversation waiting for (or holding) its lock; the next one is refused with 503 SERVICE_OVERLOADED. */
	maxQueued?: number;
}

/**
 * Gives each message of a conversation the next seq. All sends of one conversation go to the same node
 * (sharded by groupId), where they queue behind one another; the unique groupSeq index is the last word
 * if two nodes ever race (during a rebalance), and the loser reads the store again and retries.
 * The queue of a conversation is bounded: one conversation flooded cannot hold the node's memory or make
 * its own senders wait out their timeouts; past the bound a send is refused at once and retried by its client.
 */
export class Sequencer {
	private readonly log: SequencedLog;
	private readonly storedLastSeq: (groupId: string) => Promise<number>;
	private readonly cacheSize: number;
	private readonly maxQueued: number;
	/** Sends per group in its chain (the one storing and those waiting). */
	private readonly queued = new Map<string, number>();
	/** How long one store under the lock takes, to tell a refused client when the queue will have drained. */
	private readonly storeTime = new ServiceTime(2);
	/** Last seq per group as this node knows it: a bounded cache, the store decides. */
	private readonly lastSeqs = new Map<string, number>();
	/** Tail of the per-group chain that serializes seq assignment on this node. */
	private readonly locks = new Map<string, Promise<unknown>>();

	constructor(log: SequencedLog, storedLastSeq: (groupId: string) => Promise<number>, options: SequencerOptions = {}) {
		this.log = log;
		this.storedLastSeq = storedLastSeq;
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

	/** `build` makes the document for a seq; `onStored` runs under the lock, so whatever it announces goes out in seq order. */
	store(groupId: string, build: (seq: number) => MessageDoc, onStored: (doc: MessageDoc) => void): Promise<Sequenced> {
		try {
			this.admit(groupId);
		} catch (err) {
			return Promise.reject(err);
		}
		return this.withGroupLock(groupId, async () => {
			const started = performance.now();
			try {
				return await this.assign(groupId, build, onStored);
			} finally {
				this.storeTime.record(performance.now() - started);
			}
		});
	}

	private async assign(groupId: string, build: (seq: number) => MessageDoc, onStored: (doc: MessageDoc) => void): Promise<Sequenced> {
		for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
			const doc = build((await this.lastSeqOf(groupId)) + 1);
			try {
				await this.log.insert(doc);
				this.lastSeqs.set(groupId, doc.seq);
				onStored(doc);
				return { doc, duplicate: false };
			} catch (err) {
				if (!(err instanceof DuplicateKeyError)) throw err;
				if (doc.clientKey) {
					const first = await this.firstCopy(doc.clientKey);
					if (first) return { doc: first, duplicate: true };
				}
				// Another node stored this seq: forget what we knew and read the store again.
				this.lastSeqs.delete(groupId);
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

	private async lastSeqOf(groupId: string): Promise<number> {
		const known = this.lastSeqs.get(groupId);
		if (known != null) return known;
		const seq = await this.storedLastSeq(groupId);
		if (this.lastSeqs.size >= this.cacheSize) this.lastSeqs.delete(this.lastSeqs.keys().next().value!);
		this.lastSeqs.set(groupId, seq);
		return seq;
	}
}
