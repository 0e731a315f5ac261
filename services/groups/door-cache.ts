import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";

/** One cached answer: its key, and the guard its writers clean it by (the pattern, or the key itself). */
export interface Door {
	key: string;
	guard: string;
}

interface Serializer {
	serialize(data: unknown): Buffer;
	deserialize(data: Buffer): unknown;
}

interface RedisClient {
	mgetBuffer(...keys: string[]): Promise<(Buffer | null)[]>;
	eval(script: string, keys: number, ...args: (string | Buffer | number)[]): Promise<unknown>;
	multi(): { set(key: string, value: string, mode: "EX", seconds: number): unknown; exec(): Promise<unknown> };
}

/** What the doors need of Moleculer's cacher (memory or Redis). */
interface Cacher {
	connected: boolean | null;
	opts: { ttl?: number | null; missingResponse?: unknown };
	prefix?: string;
	client?: RedisClient;
	serializer?: Serializer;
	get(key: string): Promise<unknown>;
	set(key: string, data: unknown, ttl?: number): Promise<unknown>;
	clean(match: string | string[]): Promise<unknown>;
}

/** A memory guard map larger than this is emptied (see MemoryGuards.move): no in-flight answer is lost for long. */
const MEMORY_GUARDS_MAX = 10_000;
/** A Redis guard must outlive every lookup that read it (a lookup takes seconds at most). */
const REDIS_GUARD_TTL_S = 86_400;

/**
 * Sets the answer only while the guard is what the lookup read before it read the store ("" for none):
 * KEYS[1] the answer, KEYS[2] the guard; ARGV: the answer, the guard read, the TTL in seconds (0: none).
 */
const SET_IF_UNMOVED = `
if (redis.call("GET", KEYS[2]) or "") ~= ARGV[2] then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call("SET", KEYS[1], ARGV[1], "EX", ARGV[3]) else redis.call("SET", KEYS[1], ARGV[1]) end
return 1`;

/**
 * One node's guards over its own memory cache: `cleans` counts cleans, a guard is the count at its last
 * clean, and one not in the map reads as `floor`, the count when the map was last emptied (never less than
 * what it was before).
 */
class MemoryGuards {
	private cleans = 0;
	private floor = 0;
	private readonly cleanedAt = new Map<string, number>();

	now(): number {
		return this.cleans;
	}

	movedSince(guard: string, since: number): boolean {
		return (this.cleanedAt.get(guard) ?? this.floor) > since;
	}

	move(guards: string[]): void {
		if (this.cleanedAt.size > MEMORY_GUARDS_MAX) this.moveAll();
		this.cleans++;
		for (const guard of guards) this.cleanedAt.set(guard, this.cleans);
	}

	moveAll(): void {
		this.cleanedAt.clear();
		this.floor = ++this.cleans;
	}
}

/**
 * The groups service's cached doors (membership, memberIds, idsForUser, notificationTargets), which every
 * send, receipt and socket consults. Moleculer's `cache` option would store whatever a handler answers
 * once it answers, so a lookup that read the store before a change and answers after that change's clean
 * would put the old answer back for the whole TTL (a removed member let in for an hour). Here every clean
 * first moves the guard of what it cleans, then deletes; a lookup notes its door's guard before it reads
 * the store and stores its answer only where the guard has not moved since. A writer cleans after its
 * store write, so an answer read before that write was noted before the guard moved: it is refused, or,
 * stored before the move, deleted by the clean that follows it.
 *
 * Redis (shared by every node): the guards are Redis keys, read with the answer in one MGET and compared
 * with it in one script. Memory (each node its own): the guards are this node's; a clean reaches the
 * other nodes through `announce`, and each moves its guards before it deletes (`cleanHere`), so the
 * same holds on every node. A transporter reconnect, after which Moleculer empties a memory cache for the
 * cleans it may have missed, moves every guard.
 */
export class DoorCache {
	private readonly cacher: Cacher | null;
	private readonly redis: { client: RedisClient; prefix: string; serializer: Serializer } | null;
	private readonly memory = new MemoryGuards();
	private readonly announce: (patterns: string[]) => void;
	private readonly broker: ServiceBroker;
	private readonly onReconnect = () => this.memory.moveAll();

	/** `announce`: tells the other nodes of a clean, for their memory caches (cleanHere there). */
	constructor(broker: ServiceBroker, announce: (patterns: string[]) => void = () => undefined) {
		this.broker = broker;
		this.cacher = (broker.cacher as unknown as Cacher | undefined) ?? null;
		const cacher = this.cacher;
		const shared = cacher?.constructor.name === "RedisCacher" && cacher.client && cacher.serializer;
		this.redis = shared ? { client: cacher.client!, prefix: cacher.prefix ?? "", serializer: cacher.serializer! } : null;
		this.announce = announce;
		if (cacher && !this.redis) broker.localBus.on("$transporter.connected", this.onReconnect);
	}

	async read<T>(door: Door, load: () => Promise<T>): Promise<T> {
		const cacher = this.cacher;
		if (!cacher || cacher.connected === false) return load();
		if (this.redis) return this.readShared(door, load);
		const since = this.memory.now();
		const cached = await cacher.get(door.key);
		if (cached !== cacher.opts.missingResponse) return cached as T;
		const answer = await load();
		if (!this.memory.movedSince(door.guard, since)) void cacher.set(door.key, answer);
		return answer;
	}

	private async readShared<T>(door: Door, load: () => Promise<T>): Promise<T> {
		const { client, prefix, serializer } = this.redis!;
		const [cached, guard] = await client.mgetBuffer(prefix + door.key, this.guardKey(door.guard));
		if (cached) return serializer.deserialize(cached) as T;
		const answer = await load();
		const ttl = this.cacher!.opts.ttl ?? 0;
		client
			.eval(SET_IF_UNMOVED, 2, prefix + door.key, this.guardKey(door.guard), serializer.serialize(answer), guard?.toString() ?? "", ttl)
			.catch(err => this.broker.logger.warn(`Could not cache ${door.key}`, err));
		return answer;
	}

	/** Cleans these patterns (or keys) after a store write that changed what they answer. */
	async clean(patterns: string[]): Promise<void> {
		if (!this.cacher || patterns.length === 0) return;
		if (!this.redis) {
			this.cleanHere(patterns);
			this.announce(patterns);
			return;
		}
		const token = randomBytes(12).toString("base64url");
		const guards = this.redis.client.multi();
		for (const pattern of patterns) guards.set(this.guardKey(pattern), token, "EX", REDIS_GUARD_TTL_S);
		await guards.exec();
		await this.cacher.clean(patterns);
	}

	/** A clean of this node's memory cache (one made here, or announced by another node). */
	cleanHere(patterns: string[]): void {
		if (!this.cacher || this.redis) return;
		this.memory.move(patterns);
		// A memory cacher deletes before its promise is returned: nothing runs between the move and the delete.
		void this.cacher.clean(patterns);
	}

	private guardKey(guard: string): string {
		return `${this.redis!.prefix}guard:${guard}`;
	}

	close(): void {
		this.broker.localBus.off("$transporter.connected", this.onReconnect);
	}
}
