import { Redis } from "ioredis";
import type { ConnectionStatus, Presence, PresenceStatus } from "../../contract/presence.ts";

/** Presence as stored: `lastSeen` in epoch ms (the service sends clients an ISO string). */
export type StoredPresence = Omit<Presence, "lastSeen"> & { lastSeen: number | null };

/**
 * Who is connected where. A user is online (or away, when every connection says so) while they have a
 * connection; when the last one closes they get a deadline (now + grace) and `sweep` turns them offline
 * once it passes without a new connection. Gateway nodes renew a lease (`touchNode`); the connections of
 * a node whose lease runs out are dropped by `sweep` as if they had closed.
 *
 * Every method returns the users whose visible status changed, so the caller can announce them; with a
 * shared store each change is returned to exactly one caller.
 */
export interface PresenceStore {
	connect(userId: string, connId: string, nodeID: string, leaseUntil: number, now: number): Promise<StoredPresence[]>;
	disconnect(userId: string, connId: string, deadline: number, now: number): Promise<StoredPresence[]>;
	setStatus(userId: string, connId: string, status: ConnectionStatus, now: number): Promise<StoredPresence[]>;
	touchNode(nodeID: string, leaseUntil: number): Promise<void>;
	/** Drops every connection of a node: graceful (deadline = now + grace) or after its lease ran out. */
	dropNode(nodeID: string, deadline: number, now: number): Promise<StoredPresence[]>;
	sweep(now: number): Promise<StoredPresence[]>;
	query(userIds: string[]): Promise<StoredPresence[]>;
	close(): Promise<void>;
}

interface MemoryUser {
	/** connId → nodeID */
	conns: Map<string, string>;
	away: Set<string>;
	status: PresenceStatus;
	lastSeen: number;
	deadline: number | null;
}

/** One process only (embedded mode): the state lives in this presence service instance. */
export class MemoryPresenceStore implements PresenceStore {
	private users = new Map<string, MemoryUser>();
	private nodes = new Map<string, { leaseUntil: number; conns: Set<string> }>();

	async connect(userId: string, connId: string, nodeID: string, leaseUntil: number, now: number): Promise<StoredPresence[]> {
		const user = this.user(userId);
		user.conns.set(connId, nodeID);
		user.deadline = null;
		const node = this.nodes.get(nodeID) ?? { leaseUntil, conns: new Set<string>() };
		node.leaseUntil = Math.max(node.leaseUntil, leaseUntil);
		node.conns.add(`${userId}|${connId}`);
		this.nodes.set(nodeID, node);
		return this.recompute(userId, user, now);
	}

	async disconnect(userId: string, connId: string, deadline: number, now: number): Promise<StoredPresence[]> {
		const user = this.users.get(userId);
		if (!user) return [];
		const nodeID = user.conns.get(connId);
		if (nodeID) this.nodes.get(nodeID)?.conns.delete(`${userId}|${connId}`);
		return this.removeConn(userId, user, connId, deadline, now);
	}

	async setStatus(userId: string, connId: string, status: ConnectionStatus, now: number): Promise<StoredPresence[]> {
		const user = this.users.get(userId);
		if (!user?.conns.has(connId)) return [];
		if (status === "away") user.away.add(connId);
		else user.away.delete(connId);
		return this.recompute(userId, user, now);
	}

	async touchNode(nodeID: string, leaseUntil: number): Promise<void> {
		const node = this.nodes.get(nodeID);
		if (node) node.leaseUntil = Math.max(node.leaseUntil, leaseUntil);
		else this.nodes.set(nodeID, { leaseUntil, conns: new Set() });
	}

	async dropNode(nodeID: string, deadline: number, now: number): Promise<StoredPresence[]> {
		const node = this.nodes.get(nodeID);
		if (!node) return [];
		this.nodes.delete(nodeID);
		const changes: StoredPresence[] = [];
		for (const entry of node.conns) {
			const [userId, connId] = entry.split("|");
			const user = this.users.get(userId);
			if (user) changes.push(...this.removeConn(userId, user, connId, deadline, now));
		}
		return changes;
	}

	async sweep(now: number): Promise<StoredPresence[]> {
		const changes: StoredPresence[] = [];
		for (const [nodeID, node] of this.nodes) {
			if (node.leaseUntil <= now) changes.push(...(await this.dropNode(nodeID, now, now)));
		}
		for (const [userId, user] of this.users) {
			if (user.deadline == null || user.deadline > now) continue;
			user.deadline = null;
			if (user.conns.size === 0 && user.status !== "offline") {
				user.status = "offline";
				changes.push({ userId, status: "offline", lastSeen: user.lastSeen });
			}
		}
		return changes;
	}

	async query(userIds: string[]): Promise<StoredPresence[]> {
		return userIds.map(userId => {
			const user = this.users.get(userId);
			return { userId, status: user?.status ?? "offline", lastSeen: user?.lastSeen ?? null };
		});
	}

	async close(): Promise<void> {
		this.users.clear();
		this.nodes.clear();
	}

	private user(userId: string): MemoryUser {
		let user = this.users.get(userId);
		if (!user) {
			user = { conns: new Map(), away: new Set(), status: "offline", lastSeen: 0, deadline: null };
			this.users.set(userId, user);
		}
		return user;
	}

	private removeConn(userId: string, user: MemoryUser, connId: string, deadline: number, now: number): StoredPresence[] {
		if (!user.conns.delete(connId)) return [];
		user.away.delete(connId);
		if (user.conns.size > 0) return this.recompute(userId, user, now);
		user.lastSeen = now;
		user.deadline = deadline;
		return [];
	}

	private recompute(userId: string, user: MemoryUser, now: number): StoredPresence[] {
		if (user.conns.size === 0) return [];
		const status: PresenceStatus = user.away.size >= user.conns.size ? "away" : "online";
		if (status === user.status) return [];
		user.status = status;
		user.lastSeen = now;
		return [{ userId, status, lastSeen: now }];
	}
}

/*
 * Redis layout under the prefix P:
 *   P:c:<user>  hash connId → nodeID      P:a:<user>  hash connId → 1 (connections that said "away")
 *   P:u:<user>  hash status, lastSeen      P:d         zset user → offline deadline
 *   P:n         zset nodeID → lease end    P:nc:<node> set "user|connId"
 * Each operation is one Lua script, so concurrent presence instances never announce a change twice.
 */
const LUA_HELPERS = `
local P = KEYS[1]
local function recompute(u, now)
	local n = redis.call('HLEN', P..'c:'..u)
	if n == 0 then return nil end
	local status = 'online'
	if redis.call('HLEN', P..'a:'..u) >= n then status = 'away' end
	if redis.call('HGET', P..'u:'..u, 'status') == status then return nil end
	redis.call('HSET', P..'u:'..u, 'status', status, 'lastSeen', now)
	return {u, status, tostring(now)}
end
local function removeConn(u, conn, deadline, now)
	local node = redis.call('HGET', P..'c:'..u, conn)
	if not node then return nil end
	redis.call('HDEL', P..'c:'..u, conn)
	redis.call('HDEL', P..'a:'..u, conn)
	redis.call('SREM', P..'nc:'..node, u..'|'..conn)
	if redis.call('HLEN', P..'c:'..u) > 0 then return recompute(u, now) end
	redis.call('HSET', P..'u:'..u, 'lastSeen', now)
	redis.call('ZADD', P..'d', deadline, u)
	return nil
end
local function dropNode(node, deadline, now, out)
	for _, entry in ipairs(redis.call('SMEMBERS', P..'nc:'..node)) do
		local sep = string.find(entry, '|', 1, true)
		local change = removeConn(string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1), deadline, now)
		if change then table.insert(out, change) end
	end
	redis.call('DEL', P..'nc:'..node)
	redis.call('ZREM', P..'n', node)
end
`;

const SCRIPTS = {
	// ARGV: user, conn, node, leaseUntil, now
	presenceConnect: `${LUA_HELPERS}
local u, conn, node, lease, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', P..'c:'..u, conn, node)
redis.call('SADD', P..'nc:'..node, u..'|'..conn)
local current = tonumber(redis.call('ZSCORE', P..'n', node))
if not current or current < lease then redis.call('ZADD', P..'n', lease, node) end
redis.call('ZREM', P..'d', u)
local change = recompute(u, now)
if change then return {change} end
return {}`,
	// ARGV: user, conn, deadline, now
	presenceDisconnect: `${LUA_HELPERS}
local change = removeConn(ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
if change then return {change} end
return {}`,
	// ARGV: user, conn, status, now
	presenceSetStatus: `${LUA_HELPERS}
local u, conn = ARGV[1], ARGV[2]
if redis.call('HEXISTS', P..'c:'..u, conn) == 0 then return {} end
if ARGV[3] == 'away' then redis.call('HSET', P..'a:'..u, conn, 1) else redis.call('HDEL', P..'a:'..u, conn) end
local change = recompute(u, tonumber(ARGV[4]))
if change then return {change} end
return {}`,
	// ARGV: node, deadline, now
	presenceDropNode: `${LUA_HELPERS}
local out = {}
dropNode(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), out)
return out`,
	// ARGV: now
	presenceSweep: `${LUA_HELPERS}
local now = tonumber(ARGV[1])
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', P..'n', '-inf', now)) do dropNode(node, now, now, out) end
for _, u in ipairs(redis.call('ZRANGEBYSCORE', P..'d', '-inf', now)) do
	redis.call('ZREM', P..'d', u)
	if redis.call('HLEN', P..'c:'..u) == 0 and redis.call('HGET', P..'u:'..u, 'status') ~= 'offline' then
		redis.call('HSET', P..'u:'..u, 'status', 'offline')
		table.insert(out, {u, 'offline', redis.call('HGET', P..'u:'..u, 'lastSeen')})
	end
end
return out`
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptedRedis = Redis & Record<ScriptName, (prefix: string, ...args: (string | number)[]) => Promise<[string, string, string][]>>;

/** Shared by every node of a cluster (REDIS_URL). */
export class RedisPresenceStore implements PresenceStore {
	private redis: ScriptedRedis;
	private prefix: string;

	constructor(url: string, prefix: string) {
		this.prefix = prefix;
		this.redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: false }) as ScriptedRedis;
		for (const [name, lua] of Object.entries(SCRIPTS)) this.redis.defineCommand(name, { numberOfKeys: 1, lua });
	}

	async connect(userId: string, connId: string, nodeID: string, leaseUntil: number, now: number) {
		return toPresence(await this.redis.presenceConnect(this.prefix, userId, connId, nodeID, leaseUntil, now));
	}

	async disconnect(userId: string, connId: string, deadline: number, now: number) {
		return toPresence(await this.redis.presenceDisconnect(this.prefix, userId, connId, deadline, now));
	}

	async setStatus(userId: string, connId: string, status: ConnectionStatus, now: number) {
		return toPresence(await this.redis.presenceSetStatus(this.prefix, userId, connId, status, now));
	}

	async touchNode(nodeID: string, leaseUntil: number): Promise<void> {
		await this.redis.zadd(`${this.prefix}n`, "GT", leaseUntil, nodeID);
	}

	async dropNode(nodeID: string, deadline: number, now: number) {
		return toPresence(await this.redis.presenceDropNode(this.prefix, nodeID, deadline, now));
	}

	async sweep(now: number) {
		return toPresence(await this.redis.presenceSweep(this.prefix, now));
	}

	async query(userIds: string[]): Promise<StoredPresence[]> {
		if (userIds.length === 0) return [];
		const pipeline = this.redis.pipeline();
		for (const userId of userIds) pipeline.hmget(`${this.prefix}u:${userId}`, "status", "lastSeen");
		const results = (await pipeline.exec()) ?? [];
		return userIds.map((userId, i) => {
			const [status, lastSeen] = (results[i]?.[1] as [string | null, string | null]) ?? [null, null];
			return { userId, status: (status as PresenceStatus) ?? "offline", lastSeen: lastSeen ? Number(lastSeen) : null };
		});
	}

	/** Removes every key under the prefix (tests, and operators resetting a namespace). */
	async clear(): Promise<void> {
		let cursor = "0";
		do {
			const [next, keys] = await this.redis.scan(cursor, "MATCH", `${this.prefix}*`, "COUNT", 500);
			if (keys.length) await this.redis.del(...keys);
			cursor = next;
		} while (cursor !== "0");
	}

	async close(): Promise<void> {
		await this.redis.quit().catch(() => this.redis.disconnect());
	}
}

function toPresence(rows: [string, string, string][]): StoredPresence[] {
	return rows.map(([userId, status, lastSeen]) => ({ userId, status: status as PresenceStatus, lastSeen: lastSeen ? Number(lastSeen) : null }));
}
