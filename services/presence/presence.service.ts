import type { Context, ServiceSchema } from "moleculer";
import type { ConnectionStatus, Presence, PresenceList } from "../../contract/presence.ts";
import { chatConfig } from "../../lib/config.ts";
import { invalidField } from "../../lib/errors.ts";
import { ID_PATTERN } from "../../lib/ids.ts";
import { params } from "../../lib/params.ts";
import type { UserContext } from "../../lib/session.ts";
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStore, type StoredPresence } from "./presence-store.ts";

interface PresenceThis {
	store: PresenceStore;
	leaseMs: number;
	graceMs: number;
	sweepTimer: NodeJS.Timeout | null;
	sweeping: boolean;
	announce(changes: StoredPresence[]): Promise<void>;
	sweep(): Promise<void>;
}

const MAX_QUERY = 500;
const connection = { userId: { type: "string", pattern: ID_PATTERN }, connId: { type: "string", min: 1, max: 100 } } as const;
const nodeParam = { type: "string", min: 1, max: 200 } as const;

/** What clients see (REST, socket `user.presence`): the store keeps epoch ms, the contract says ISO 8601. */
export function toPublic(stored: StoredPresence): Presence {
	return { userId: stored.userId, status: stored.status, lastSeen: stored.lastSeen == null ? null : new Date(stored.lastSeen).toISOString() };
}

/**
 * Who is online. Gateways report connections (connect/disconnect/setStatus) and renew a lease for their
 * node every heartbeat; a node that stops renewing (crashed) loses its users after about two heartbeats.
 * Changes are broadcast as `presence.changed` with the user's conversations, so gateways tell only
 * the people who share one with that user.
 */
const PresenceService: ServiceSchema<{}, {}, PresenceThis> = {
	name: "presence",

	actions: {
		connect: {
			visibility: "public",
			params: params({ ...connection, nodeID: nodeParam }),
			async handler(ctx: Context<{ userId: string; connId: string; nodeID: string }>) {
				const now = Date.now();
				const { userId, connId, nodeID } = ctx.params;
				await this.announce(await this.store.connect(userId, connId, nodeID, now + this.leaseMs, now));
			}
		},

		disconnect: {
			visibility: "public",
			params: params(connection),
			async handler(ctx: Context<{ userId: string; connId: string }>) {
				const now = Date.now();
				await this.announce(await this.store.disconnect(ctx.params.userId, ctx.params.connId, now + this.graceMs, now));
			}
		},

		setStatus: {
			visibility: "public",
			params: params({ ...connection, status: { type: "enum", values: ["online", "away"] } }),
			async handler(ctx: Context<{ userId: string; connId: string; status: ConnectionStatus }>) {
				await this.announce(await this.store.setStatus(ctx.params.userId, ctx.params.connId, ctx.params.status, Date.now()));
			}
		},

		/** A gateway node's heartbeat: its connections stay alive for another lease. */
		nodeAlive: {
			visibility: "public",
			params: params({ nodeID: nodeParam }),
			async handler(ctx: Context<{ nodeID: string }>) {
				await this.store.touchNode(ctx.params.nodeID, Date.now() + this.leaseMs);
			}
		},

		/** A gateway node stopping cleanly: its users get the grace period to reconnect elsewhere. */
		dropNode: {
			visibility: "public",
			params: params({ nodeID: nodeParam }),
			async handler(ctx: Context<{ nodeID: string }>) {
				const now = Date.now();
				const changes = await this.store.dropNode(ctx.params.nodeID, now + this.graceMs, now);
				this.logger.info("Gateway node stopped", ctx.params.nodeID);
				await this.announce(changes);
			}
		},

		/** Which of these users have a visible app open now (status "online": away tabs and the grace period do not count as away). */
		activeUsers: {
			visibility: "public",
			params: params({ userIds: { type: "array", max: 10_000, items: { type: "string", pattern: ID_PATTERN } } }),
			async handler(ctx: Context<{ userIds: string[] }>): Promise<string[]> {
				return (await this.store.query([...new Set(ctx.params.userIds)])).filter(p => p.status === "online").map(p => p.userId);
			}
		},

		/** `GET /api/presence?userIds=a,b` or the socket's `presence.query`: ids as an array or a comma list. */
		query: {
			auth: "required",
			readOnly: true,
			params: params({
				userIds: [
					{ type: "string", max: MAX_QUERY * 25 },
					{ type: "array", max: MAX_QUERY, items: "string" }
				]
			}),
			async handler(ctx: UserContext<{ userIds: string | string[] }>): Promise<PresenceList> {
				const given =
					typeof ctx.params.userIds === "string"
						? ctx.params.userIds
								.split(",")
								.map(s => s.trim())
								.filter(Boolean)
						: ctx.params.userIds;
				const userIds = [...new Set(given)];
				if (userIds.length > MAX_QUERY) throw invalidField("userIds", `The 'userIds' field may name at most ${MAX_QUERY} users.`, "arrayMax");
				const bad = userIds.find(id => !ID_PATTERN.test(id));
				if (bad !== undefined) throw invalidField("userIds", "The 'userIds' field must list valid user ids.", "stringPattern");
				return { items: (await this.store.query(userIds)).map(toPublic) };
			}
		}
	},

	events: {
		/** Faster than waiting for the lease: the cluster saw the node vanish. */
		"$node.disconnected": {
			async handler(ctx: Context<{ node: { id: string }; unexpected: boolean }>) {
				if (!ctx.params.unexpected) return;
				const now = Date.now();
				await this.announce(await this.store.dropNode(ctx.params.node.id, now + this.graceMs, now));
			}
		}
	},

	methods: {
		async announce(changes: StoredPresence[]) {
			for (const change of changes.map(toPublic)) {
				const groupIds = await this.broker.call<string[], { userId: string }>("groups.idsForUser", { userId: change.userId }).catch(err => {
					this.logger.warn("Could not load conversations for a presence change", change.userId, err);
					return [] as string[];
				});
				await this.broker.broadcast("presence.changed", { ...change, groupIds });
			}
		},

		async sweep() {
			if (this.sweeping) return;
			this.sweeping = true;
			try {
				await this.announce(await this.store.sweep(Date.now()));
			} catch (err) {
				this.logger.warn("Presence sweep failed", err);
			} finally {
				this.sweeping = false;
			}
		}
	},

	created() {
		const config = chatConfig(this.broker);
		const { heartbeatSeconds, graceSeconds } = config.presence;
		this.leaseMs = 2 * heartbeatSeconds * 1000;
		this.graceMs = graceSeconds * 1000;
		this.sweeping = false;
		this.sweepTimer = null;
		if (config.redisUrl) {
			this.store = new RedisPresenceStore(config.redisUrl, `${config.namespace}:presence:`);
		} else {
			if (config.transporter) this.logger.warn("Presence keeps its state in memory (no REDIS_URL): run one presence instance only");
			this.store = new MemoryPresenceStore();
		}
	},

	started() {
		const heartbeatMs = chatConfig(this.broker).presence.heartbeatSeconds * 1000;
		this.sweepTimer = setInterval(() => void this.sweep(), Math.max(100, Math.min(1000, heartbeatMs / 4)));
		this.sweepTimer.unref();
	},

	async stopped() {
		if (this.sweepTimer) clearInterval(this.sweepTimer);
		await this.store.close();
	}
};

export default PresenceService;
