import { SvelteMap } from 'svelte/reactivity';
import { usersApi } from '#lib/api/client.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import type { User } from '@scalable-chat/contract';

/** A cache of user profiles, fetched in batches as the UI asks for them. */
class UsersManager {
	#users = new SvelteMap<string, User>();
	#wanted = new Set<string>();
	#inFlight = new Set<string>();
	#flushQueued = false;

	get(id: string): User | undefined {
		return this.#users.get(id);
	}

	displayName(id: string): string {
		const user = this.#users.get(id);
		return user ? user.displayName || user.username : '…';
	}

	/** "You" for the reader, else the display name (system lines, quotes, reactions). */
	nameOrYou(id: string, myUserId: string): string {
		return id === myUserId ? 'You' : this.displayName(id);
	}

	put(user: User): void {
		this.#users.set(user.id, user);
	}

	/** Make sure these profiles get loaded; requests from one tick are batched. */
	ensure(ids: Iterable<string>): void {
		for (const id of ids) {
			if (id && !this.#users.has(id) && !this.#inFlight.has(id)) this.#wanted.add(id);
		}
		if (this.#wanted.size === 0 || this.#flushQueued) return;
		this.#flushQueued = true;
		queueMicrotask(() => void this.#flush());
	}

	async #flush(): Promise<void> {
		this.#flushQueued = false;
		const ids = [...this.#wanted].slice(0, 100);
		for (const id of ids) {
			this.#wanted.delete(id);
			this.#inFlight.add(id);
		}
		if (this.#wanted.size) this.ensure([]);
		try {
			const { items } = await usersApi.byIds(ids);
			for (const user of items) this.put(user);
		} catch {
			// Leave them unknown; a later ensure() will try again.
		} finally {
			for (const id of ids) this.#inFlight.delete(id);
		}
	}

	/** Profile changes (display name, avatar, status) reach every place that shows the user, live. */
	attach(onUpdated: (user: User) => void = () => undefined): () => void {
		return realtime.on('user.updated', user => {
			this.put(user);
			onUpdated(user);
		});
	}

	clear(): void {
		this.#users.clear();
	}
}

export const users = new UsersManager();
