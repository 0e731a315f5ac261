import type { Leases } from "../../lib/redis-lease.ts";

/**
 * One change of a group at a time, in arrival order: who may act and what the group holds are read and
 * written by the change alone, so two changes cannot both pass a check that only one of them may (two
 * hand-overs making two owners, two adds each fitting the member limit on their own, one member removed
 * twice). Users are locked the same way while they are counted against their groups limit and put into a
 * group. In a cluster the changing actions are sharded by the group's id, so the changes of one group mostly
 * queue here on one node; with `leases` (Redis) each change also holds its key across the cluster, which is
 * what holds when shards move between nodes and for users, whose changes come through any node.
 */
export class GroupChangeLock {
	private readonly tails = new Map<string, Promise<unknown>>();
	private readonly leases: Leases | null;

	constructor(leases: Leases | null = null) {
		this.leases = leases;
	}

	/** Runs `work` once the changes of the group that came before it are done. */
	run<T>(groupId: string, work: () => Promise<T>): Promise<T> {
		const previous = this.tails.get(groupId) ?? Promise.resolve();
		const result = previous.then(this.leases ? () => this.leased(groupId, work) : work);
		const tail = result.catch(() => undefined);
		this.tails.set(groupId, tail);
		void tail.then(() => {
			if (this.tails.get(groupId) === tail) this.tails.delete(groupId);
		});
		return result;
	}

	/**
	 * Runs `work` holding every one of these users' locks, taken in one order (sorted) by everyone, so two
	 * callers never wait for each other. Their keys sort after every group id: a group's lock, when held
	 * too, is always taken first.
	 */
	runForUsers<T>(userIds: string[], work: () => Promise<T>): Promise<T> {
		const keys = [...new Set(userIds)].map(id => `user:${id}`).sort();
		const step = (i: number): Promise<T> => (i === keys.length ? work() : this.run(keys[i], () => step(i + 1)));
		return step(0);
	}

	private async leased<T>(key: string, work: () => Promise<T>): Promise<T> {
		const release = await this.leases!.acquire(key);
		try {
			return await work();
		} finally {
			await release();
		}
	}

	close(): Promise<void> {
		return this.leases?.close() ?? Promise.resolve();
	}

	/** Groups and users with a change running or waiting. */
	get size(): number {
		return this.tails.size;
	}
}
