import { SvelteMap } from 'svelte/reactivity';
import { realtime } from '#lib/realtime/realtime.svelte.ts';

/** Forget a typist we have not heard from in this long (a lost typing.stop). */
const REMOTE_TTL_MS = 6_000;
/** Re-announce typing at most this often while the user keeps typing. */
const LOCAL_REPEAT_MS = 3_000;
/** Send typing.stop after this much silence. */
const LOCAL_IDLE_MS = 4_000;

/** Who is typing where, and announcing our own typing. */
class TypingManager {
	/** groupId → userId → expiry time */
	#typists = new SvelteMap<string, SvelteMap<string, number>>();
	#sweeper: ReturnType<typeof setInterval> | undefined;
	#local = new Map<string, { lastSent: number; idle: ReturnType<typeof setTimeout> }>();

	typists(groupId: string): string[] {
		return [...(this.#typists.get(groupId)?.keys() ?? [])];
	}

	set(groupId: string, userId: string, typing: boolean): void {
		let group = this.#typists.get(groupId);
		if (typing) {
			if (!group) this.#typists.set(groupId, (group = new SvelteMap()));
			group.set(userId, Date.now() + REMOTE_TTL_MS);
		} else {
			group?.delete(userId);
		}
	}

	/** Call on every keystroke in the composer. */
	typed(groupId: string): void {
		const now = Date.now();
		const state = this.#local.get(groupId);
		if (state) clearTimeout(state.idle);
		const idle = setTimeout(() => this.stopped(groupId), LOCAL_IDLE_MS);
		if (!state || now - state.lastSent > LOCAL_REPEAT_MS) {
			realtime.emit('typing.start', { groupId }).catch(() => undefined);
			this.#local.set(groupId, { lastSent: now, idle });
		} else {
			state.idle = idle;
		}
	}

	/** Call when the message is sent or the draft is cleared. */
	stopped(groupId: string): void {
		const state = this.#local.get(groupId);
		if (!state) return;
		clearTimeout(state.idle);
		this.#local.delete(groupId);
		realtime.emit('typing.stop', { groupId }).catch(() => undefined);
	}

	attach(): () => void {
		const off = realtime.on('typing', ({ groupId, userId, typing }) => this.set(groupId, userId, typing));
		// Someone who sent a message has stopped typing it.
		const offMessage = realtime.on('chat.message.incoming', m => this.set(m.groupId, m.senderId, false));
		this.#sweeper = setInterval(() => {
			const now = Date.now();
			for (const [groupId, group] of this.#typists) {
				for (const [userId, expiry] of group) if (expiry < now) group.delete(userId);
				if (group.size === 0) this.#typists.delete(groupId);
			}
		}, 1_000);
		return () => {
			off();
			offMessage();
			clearInterval(this.#sweeper);
			this.#typists.clear();
			for (const { idle } of this.#local.values()) clearTimeout(idle);
			this.#local.clear();
		};
	}
}

export const typing = new TypingManager();
