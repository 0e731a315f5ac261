/**
 * Previews are made off the send path, a few at a time: a burst of links waits here (bounded; beyond the
 * bound a preview is skipped, not queued without end), and one message is never worked on twice at once.
 */
export class WorkQueue {
	private readonly concurrency: number;
	private readonly maxWaiting: number;
	private readonly waiting: { key: string; run: () => Promise<void> }[] = [];
	private readonly keys = new Set<string>();
	private running = 0;
	private readonly idle: (() => void)[] = [];

	constructor(options: { concurrency: number; maxWaiting: number }) {
		this.concurrency = options.concurrency;
		this.maxWaiting = options.maxWaiting;
	}

	/** False when the job was dropped (its key is already waiting or running, or the queue is full). */
	push(key: string, run: () => Promise<void>): boolean {
		if (this.keys.has(key) || this.waiting.length >= this.maxWaiting) return false;
		this.keys.add(key);
		this.waiting.push({ key, run });
		queueMicrotask(() => this.next());
		return true;
	}

	get size(): number {
		return this.waiting.length + this.running;
	}

	/** Resolves once nothing waits or runs (stopping the service). */
	drained(): Promise<void> {
		if (this.size === 0) return Promise.resolve();
		return new Promise(resolve => this.idle.push(resolve));
	}

	private next(): void {
		while (this.running < this.concurrency && this.waiting.length) {
			const job = this.waiting.shift()!;
			this.running++;
			job
				.run()
				.catch(() => {})
				.finally(() => {
					this.running--;
					this.keys.delete(job.key);
					if (this.size === 0) this.idle.splice(0).forEach(resolve => resolve());
					this.next();
				});
		}
	}
}
