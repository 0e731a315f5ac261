import type { TypingEvent } from "../../contract/presence.ts";

export interface TypingOptions {
	/** At most one "typing" announcement per user and conversation in this window; starts inside it only extend. */
	throttleMs: number;
	/** A start not refreshed within this time stops by itself. */
	expireMs: number;
	announce(signal: TypingEvent): void;
}

interface Typing {
	socketId: string;
	announcedAt: number;
	timer: NodeJS.Timeout;
}

/** Who is typing where, on this gateway node only; never stored. */
export class TypingTracker {
	private active = new Map<string, Typing>();
	private bySocket = new Map<string, Set<string>>();
	private options: TypingOptions;

	constructor(options: TypingOptions) {
		this.options = options;
	}

	start(userId: string, groupId: string, socketId: string, now = Date.now()): void {
		const key = `${groupId}|${userId}`;
		const current = this.active.get(key);
		if (current) clearTimeout(current.timer);
		const timer = setTimeout(() => this.stop(userId, groupId), this.options.expireMs);
		timer.unref();
		const announce = !current || now - current.announcedAt >= this.options.throttleMs;
		if (current && current.socketId !== socketId) this.bySocket.get(current.socketId)?.delete(key);
		this.active.set(key, { socketId, timer, announcedAt: announce ? now : current!.announcedAt });
		let keys = this.bySocket.get(socketId);
		if (!keys) this.bySocket.set(socketId, (keys = new Set()));
		keys.add(key);
		if (announce) this.options.announce({ groupId, userId, typing: true });
	}

	/** Returns whether the user was typing there. */
	stop(userId: string, groupId: string): boolean {
		const key = `${groupId}|${userId}`;
		const current = this.active.get(key);
		if (!current) return false;
		clearTimeout(current.timer);
		this.active.delete(key);
		const keys = this.bySocket.get(current.socketId);
		keys?.delete(key);
		if (keys?.size === 0) this.bySocket.delete(current.socketId);
		this.options.announce({ groupId, userId, typing: false });
		return true;
	}

	stopSocket(socketId: string): void {
		for (const key of [...(this.bySocket.get(socketId) ?? [])]) {
			const [groupId, userId] = key.split("|");
			this.stop(userId, groupId);
		}
		this.bySocket.delete(socketId);
	}

	clear(): void {
		for (const t of this.active.values()) clearTimeout(t.timer);
		this.active.clear();
		this.bySocket.clear();
	}
}
