/**
 * One change of a group at a time, in arrival order: who may act and what the group holds are read and
 * written by the change alone, so two changes cannot both pass a check that only one of them may (two
 * hand-overs making two owners, two adds each fitting the member limit on their own, one member removed
 * twice). Users are locked the same way while they are counted against their groups limit and put into a
 * group. In a cluster the changing actions are sharded by the group's id, so every change of one group
 * waits here on the same node.
 */
export class GroupChangeLock {
	private readonly tails = new Map<string, Promise<unknown>>();

	/** Runs `work` once the changes of the group that came before it are done. */
	run<T>(groupId: string, work: () => Promise<T>): Promise<T> {
		const previous = this.tails.get(groupId) ?? Promise.resolve();
		const result = previous.then(work);
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

	/** Groups and users with a change running or waiting. */
	get size(): number {
		return this.tails.size;
	}
}
