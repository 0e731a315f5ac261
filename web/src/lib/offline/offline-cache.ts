import { browserStorage, type KeyValueStorage } from '#lib/storage/browser-storage.ts';
import type { Group, Message, User } from '@scalable-chat/contract';
import { ApiError } from '#lib/api/errors.ts';

/** The latest messages of one conversation, ascending by seq. */
export interface CachedPage {
	groupId: string;
	messages: Message[];
}

/** What the user last saw, to show while the server cannot be reached. */
export interface OfflineSnapshot {
	version: 1;
	savedAt: string;
	/** The conversation list, newest activity first. */
	groups: Group[];
	/** The most recently opened conversations first. */
	pages: CachedPage[];
	/** Profiles the cached conversations name (direct peers, senders). */
	people: User[];
	/** The latest chat.sync token: a reload asks for the changes since it (absent: none kept yet). */
	syncToken?: string;
}

export interface CacheLimits {
	groups: number;
	pages: number;
	messagesPerPage: number;
	people: number;
	/** Of the serialized snapshot, in UTF-16 code units (what localStorage counts). */
	chars: number;
}

export const DEFAULT_LIMITS: CacheLimits = {
	groups: 50,
	pages: 5,
	messagesPerPage: 50,
	people: 200,
	chars: 400_000
};

export const OFFLINE_NOTICE = "Can't reach the server. Showing what you had.";

const keyOf = (userId: string) => `chat.offline.${userId}`;

/** A failure that means the server (or the way to it) is down, not that it refused. */
export function isUnreachable(error: unknown): boolean {
	if (error instanceof ApiError) return error.status === 502 || error.status === 503 || error.status === 504;
	// fetch rejects with a TypeError when there is no answer at all.
	return error instanceof TypeError;
}

export const emptySnapshot = (): OfflineSnapshot => ({
	version: 1,
	savedAt: new Date(0).toISOString(),
	groups: [],
	pages: [],
	people: []
});

/** Cut a snapshot down to the count limits (pages keep their newest messages). */
export function boundSnapshot(snapshot: OfflineSnapshot, limits: CacheLimits = DEFAULT_LIMITS): OfflineSnapshot {
	return {
		...snapshot,
		groups: snapshot.groups.slice(0, limits.groups),
		pages: snapshot.pages
			.slice(0, limits.pages)
			.map(p => ({ groupId: p.groupId, messages: p.messages.slice(-limits.messagesPerPage) })),
		people: snapshot.people.slice(0, limits.people)
	};
}

/**
 * The snapshot as stored, within the size limit: the oldest opened conversations go first, then the
 * tail of the list, then profiles. Null when not even an empty snapshot fits.
 */
export function serializeSnapshot(snapshot: OfflineSnapshot, limits: CacheLimits = DEFAULT_LIMITS): string | null {
	let s = boundSnapshot(snapshot, limits);
	for (;;) {
		const text = JSON.stringify(s);
		if (text.length <= limits.chars) return text;
		if (s.pages.length) s = { ...s, pages: s.pages.slice(0, -1) };
		else if (s.groups.length) s = { ...s, groups: s.groups.slice(0, Math.floor(s.groups.length / 2)) };
		else if (s.people.length) s = { ...s, people: s.people.slice(0, Math.floor(s.people.length / 2)) };
		else return null;
	}
}

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** A stored snapshot, or null when it is missing, broken or from another version. */
export function parseSnapshot(text: string | null): OfflineSnapshot | null {
	if (!text) return null;
	let parsed: unknown;
	try {
		parsed = JSON.parse(text);
	} catch {
		return null;
	}
	if (!isObject(parsed) || parsed.version !== 1 || typeof parsed.savedAt !== 'string') return null;
	const { groups, pages, people, syncToken } = parsed;
	if (!Array.isArray(groups) || !Array.isArray(pages) || !Array.isArray(people)) return null;
	return {
		version: 1,
		savedAt: parsed.savedAt,
		groups: groups
			.filter((g): g is Group => isObject(g) && typeof g.id === 'string' && Array.isArray(g.members))
			.map(withGroupDefaults),
		pages: pages
			.filter(
				(p): p is CachedPage =>
					isObject(p) &&
					typeof p.groupId === 'string' &&
					Array.isArray(p.messages) &&
					p.messages.every(m => isObject(m) && typeof m.seq === 'number')
			)
			.map(p => ({ groupId: p.groupId, messages: p.messages.map(withMessageDefaults) })),
		people: people.filter((u): u is User => isObject(u) && typeof u.id === 'string'),
		...(typeof syncToken === 'string' ? { syncToken } : {})
	};
}

/** A message saved by an earlier version of the app lacks the fields added since. */
function withMessageDefaults(m: Partial<Message>): Message {
	return {
		reactions: [],
		mentions: [],
		mentionsAll: false,
		system: null,
		preview: null,
		replyTo: null,
		...m
	} as Message;
}

function withGroupDefaults(g: Partial<Group>): Group {
	const group = {
		avatarUrl: null,
		mentionCount: 0,
		unreadFrom: null,
		notifications: { level: 'all', mutedUntil: null },
		...g
	} as Group;
	return { ...group, lastMessage: group.lastMessage ? withMessageDefaults(group.lastMessage) : null };
}

/** Newest first, one page per conversation, the most recently opened in front. */
export function withPages(current: CachedPage[], fresh: CachedPage[]): CachedPage[] {
	const ids = new Set(fresh.map(p => p.groupId));
	return [...fresh, ...current.filter(p => !ids.has(p.groupId))];
}

/** New profiles in front, each once. */
export function withPeople(current: User[], fresh: User[]): User[] {
	const ids = new Set(fresh.map(u => u.id));
	return [...fresh, ...current.filter(u => !ids.has(u.id))];
}

type Schedule = (flush: () => void) => () => void;

const defaultSchedule: Schedule = flush => {
	const timer = setTimeout(flush, 300);
	return () => clearTimeout(timer);
};

/**
 * The last conversation list and the latest page of recently opened conversations, per user, so
 * that a page reloaded while the server is down still shows them. Writes are batched; one entry per
 * user, which goes at logout.
 */
export class OfflineCache {
	readonly #storage: () => KeyValueStorage | null;
	readonly #limits: CacheLimits;
	readonly #schedule: Schedule;
	#pending = new Map<string, OfflineSnapshot>();
	#cancel: (() => void) | null = null;

	constructor(storage: () => KeyValueStorage | null, options: { limits?: CacheLimits; schedule?: Schedule } = {}) {
		this.#storage = storage;
		this.#limits = options.limits ?? DEFAULT_LIMITS;
		this.#schedule = options.schedule ?? defaultSchedule;
	}

	read(userId: string): OfflineSnapshot | null {
		const pending = this.#pending.get(userId);
		if (pending) return pending;
		try {
			return parseSnapshot(this.#storage()?.getItem(keyOf(userId)) ?? null);
		} catch {
			return null;
		}
	}

	/** Page of one conversation, if cached. */
	page(userId: string, groupId: string): Message[] | null {
		return this.read(userId)?.pages.find(p => p.groupId === groupId)?.messages ?? null;
	}

	/** Remember the conversation list (and the profiles it names). */
	saveList(userId: string, groups: Group[], people: User[] = []): void {
		this.#update(userId, s => ({ ...s, groups, people: withPeople(s.people, people) }));
	}

	/** The token of the last chat.sync, to continue from after a reload. */
	syncToken(userId: string): string | null {
		return this.read(userId)?.syncToken ?? null;
	}

	saveSyncToken(userId: string, syncToken: string): void {
		this.#update(userId, s => ({ ...s, syncToken }));
	}

	/** Remember the latest messages of conversations, the most recently opened first. */
	savePages(userId: string, pages: CachedPage[], people: User[] = []): void {
		this.#update(userId, s => ({ ...s, pages: withPages(s.pages, pages), people: withPeople(s.people, people) }));
	}

	/** Write what is batched now (the page is going away). */
	flush(): void {
		this.#cancel?.();
		this.#cancel = null;
		const pending = [...this.#pending];
		this.#pending.clear();
		for (const [userId, snapshot] of pending) {
			try {
				const text = serializeSnapshot(snapshot, this.#limits);
				if (text) this.#storage()?.setItem(keyOf(userId), text);
				else this.#storage()?.removeItem(keyOf(userId));
			} catch {
				// Full or disabled storage: a reload while offline shows less, nothing else breaks.
			}
		}
	}

	forget(userId: string): void {
		this.#pending.delete(userId);
		try {
			this.#storage()?.removeItem(keyOf(userId));
		} catch {
			// Storage disabled: there was nothing to forget.
		}
	}

	#update(userId: string, change: (s: OfflineSnapshot) => OfflineSnapshot): void {
		const current = this.read(userId) ?? emptySnapshot();
		this.#pending.set(userId, boundSnapshot({ ...change(current), savedAt: new Date().toISOString() }, this.#limits));
		this.#cancel ??= this.#schedule(() => {
			this.#cancel = null;
			this.flush();
		});
	}
}

export const offlineCache = new OfflineCache(browserStorage);
