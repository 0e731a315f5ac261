/**
 * What one client has of one conversation, checked against the conversation's `seq`.
 * Seqs have no gaps, so "everything up to `contiguous`" plus the few seen beyond it is enough.
 * Messages a client sent itself count as had once acknowledged (servers differ on whether they echo them).
 */
export class SeqTracker {
	private contiguous: number;
	private readonly beyond = new Set<number>();
	/** Seqs that `chat.sync` filled in; the same seq arriving live afterwards is an expected overlap. */
	private readonly fromSync = new Set<number>();
	private lastLive = 0;
	duplicates = 0;
	outOfOrder = 0;
	syncOverlap = 0;
	live = 0;

	constructor(baseSeq: number) {
		this.contiguous = baseSeq;
		this.lastLive = baseSeq;
	}

	get cursor(): number {
		return this.contiguous;
	}

	private has(seq: number): boolean {
		return seq <= this.contiguous || this.beyond.has(seq);
	}

	private add(seq: number): void {
		if (seq === this.contiguous + 1) {
			this.contiguous = seq;
			while (this.beyond.delete(this.contiguous + 1)) this.contiguous++;
		} else {
			this.beyond.add(seq);
		}
	}

	/** A live `chat.message.incoming` from someone else. Returns false for a duplicate. */
	received(seq: number): boolean {
		if (this.has(seq)) {
			if (this.fromSync.delete(seq)) this.syncOverlap++;
			else this.duplicates++;
			return false;
		}
		if (seq < this.lastLive) this.outOfOrder++;
		else this.lastLive = seq;
		this.live++;
		if (!this.has(seq)) this.add(seq);
		return true;
	}

	/** The client's own message, from the ack or from the server echoing it. */
	ownMessage(seq: number): void {
		if (!this.has(seq)) this.add(seq);
	}

	/** Filled in by `chat.sync` after a reconnect: not a live delivery, so never a duplicate. */
	synced(seq: number): void {
		if (this.has(seq)) return;
		this.add(seq);
		this.fromSync.add(seq);
		if (seq > this.lastLive) this.lastLive = seq;
	}

	/** Seqs in (base, lastSeq] this client never got. */
	missing(lastSeq: number): number {
		let had = Math.min(this.contiguous, lastSeq);
		for (const s of this.beyond) if (s <= lastSeq) had++;
		return Math.max(0, lastSeq - had);
	}

	/** Counts from `baseSeq` again for the next step, keeping what it has. */
	missingSince(baseSeq: number, lastSeq: number): number {
		return Math.max(0, this.missing(lastSeq) - this.missing(baseSeq));
	}
}
