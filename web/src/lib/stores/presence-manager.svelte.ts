import { SvelteMap } from 'svelte/reactivity';
import { presenceApi } from '#lib/api/client.ts';
import type { Presence, PresenceStatus } from '@scalable-chat/contract';
import { realtime } from '#lib/realtime/realtime.svelte.ts';

/** Who is online, for the people shown in conversation lists and member panels. */
class PresenceManager {
	#presence = new SvelteMap<string, Presence>();

	status(userId: string): PresenceStatus {
		return this.#presence.get(userId)?.status ?? 'offline';
	}

	get(userId: string): Presence | undefined {
		return this.#presence.get(userId);
	}

	put(presence: Presence): void {
		this.#presence.set(presence.userId, presence);
	}

	async query(userIds: string[]): Promise<void> {
		const ids = [...new Set(userIds)].filter(Boolean);
		if (ids.length === 0) return;
		try {
			const { items } = realtime.connected
				? await realtime.emit('presence.query', { userIds: ids })
				: await presenceApi.query(ids);
			for (const p of items) this.put(p);
		} catch {
			// Presence is decoration; a failed query just leaves dots grey.
		}
	}

	attach(): () => void {
		return realtime.on('user.presence', p => this.put(p));
	}

	clear(): void {
		this.#presence.clear();
	}
}

export const presence = new PresenceManager();
