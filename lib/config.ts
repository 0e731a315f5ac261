import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { checkVapidKeys, resolveVapidKeys, type VapidKeys } from "./vapid.ts";

/** Every service this code base knows, in start order; `SERVICES` picks a subset per node. */
export const ALL_SERVICES = [
	"users",
	"auth",
	"groups",
	"messages",
	"search",
	"presence",
	"assets",
	"kafka-bridge",
	"push",
	"link-previews",
	"api",
	"socket"
] as const;
export type ServiceName = (typeof ALL_SERVICES)[number];

/** Below Kafka's default message.max.bytes (1 MiB), with room for what the size estimate misses. */
export const DEFAULT_KAFKA_MAX_BATCH_BYTES = 900 * 1024;

export type StorageConfig = { kind: "mongo"; uri: string } | { kind: "nedb"; dir: string } | { kind: "memory" };

export interface ChatConfig {
	env: "production" | "development" | "test";
	nodeID: string | undefined;
	namespace: string;
	host: string;
	port: number;
	/** Port of the socket gateway when the API service does not run on the same node. */
	socketPort: number;
	services: ServiceName[];
	transporter: string | undefined;
	cacher: string | undefined;
	redisUrl: string | undefined;
	storage: StorageConfig;
	dataDir: string;
	webDir: string;
	logLevel: string;
	logFormat: "json" | "text";
	jwt: {
		secret: string;
		accessTtlSeconds: number;
		refreshTtlSeconds: number;
		/** How long after its rotation a refresh token presented again answers with the same successor (a lost answer's retry); 0: never. */
		refreshRetrySeconds: number;
	};
	/** Seals the transporter's packets and signs callers (lib/cluster-trust.ts); the same on every node of a cluster. */
	clusterSecret: string;
	bcryptCost: number;
	http: { bodyLimit: string; corsOrigins: string[] | "*"; trustProxy: boolean };
	rateLimit: { restPerMinute: number; sendPerSecond: number; sendBurst: number };
	/** Full-text searches per user: a token bucket (SEARCH_RATE_PER_SECOND / SEARCH_RATE_BURST). */
	search: { perSecond: number; burst: number };
	/** Sign-in attempts: per account and address (every attempt), and per account from addresses it never signed in from. */
	login: { attemptsPerAddress: number; addressWindowSeconds: number; attemptsPerAccount: number; accountWindowSeconds: number; newAccountsPerAddress: number };
	/** Socket gateway budgets: every client event costs tokens of its user's bucket; sockets per user per gateway node. */
	socketLimits: SocketLimitsConfig;
	/** Limits of conversation size and membership count (groups, not direct conversations). */
	groupLimits: { maxMembers: number; maxGroupsPerUser: number };
	/** Load shedding: beyond these a send is refused at once (503 SERVICE_OVERLOADED) instead of queued. */
	overload: { maxSendsInFlight: number; maxQueuedPerConversation: number; maxEventLoopDelayMs: number };
	/** How long after sending its author may edit a message (MESSAGE_EDIT_WINDOW; unset: always). */
	messages: { editWindowSeconds: number | undefined };
	/** Link previews (LINK_PREVIEWS=off turns them off); `allowHosts`: `host:port` pairs the fetcher may reach although they are private (tests, development only). */
	linkPreviews: { enabled: boolean; allowHosts: string[] };
	/** Reactions: distinct emoji per message (MESSAGE_REACTION_LIMIT), and each user's toggles (a token bucket shared by every entry point). */
	reactions: { perMessage: number; perSecond: number; burst: number };
	/** Who may use `@all` / `@here` (MENTION_ALL): owners and admins of groups, every member, or nobody. */
	mentions: { all: MentionAllPolicy };
	uploads: UploadsConfig;
	kafka: {
		brokers: string[];
		topicPrefix: string;
		clientId: string;
		/** Usernames that records on the inbound topic may post as; the inbound consumer runs only when set. */
		inboundBots: string[];
		/** How often the bridge looks at the outbox when no live event nudges it. */
		pollIntervalMs: number;
		/** Kafka's idempotent producer (KAFKA_IDEMPOTENT=false for brokers without InitProducerId, such as librdkafka's mock). */
		idempotent: boolean;
		/** The most one publish sends (KAFKA_MAX_BATCH_BYTES, default DEFAULT_KAFKA_MAX_BATCH_BYTES): below the broker's message.max.bytes. */
		maxBatchBytes?: number;
	};
	presence: { heartbeatSeconds: number; graceSeconds: number };
	push: PushConfig;
	/** Operations: Prometheus metrics (Moleculer's and ours) and the /health + /ready listener of nodes without the API. */
	ops: { metricsPort: number | undefined; probePort: number | undefined; shutdownTimeoutMs: number };
}

export type MentionAllPolicy = "admins" | "everyone" | "off";

export interface SocketLimitsConfig {
	eventsPerSecond: number;
	eventBurst: number;
	/** Tokens an event costs when not 1 (SOCKET_EVENT_COSTS="chat.sync=10,presence.query=5"). */
	eventCosts: Record<string, number>;
	maxSocketsPerUser: number;
	/** A socket refused this many times within the window is disconnected. */
	floodRejections: number;
	floodWindowMs: number;
}

/** Web Push (services/push/): who we are to the push services, and where subscriptions may point. */
export interface PushConfig {
	/** WEB_PUSH=on|off; default on, except in production without VAPID keys. */
	enabled: boolean;
	vapid: VapidKeys;
	/** Subscription endpoints must be https on one of these hosts or their subdomains (the browsers' push services). */
	endpointHosts: string[];
	/** Origins allowed besides, http and loopback included (PUSH_TEST_ENDPOINTS): only for a push service stand-in in tests. */
	testEndpoints: string[];
	/** Pushes in flight at once per node, and how long one may take. */
	concurrency: number;
	timeoutMs: number;
}

/** The browsers' push services: Chrome/Edge (FCM), Firefox (Mozilla autopush), Edge legacy (WNS), Safari (Apple). */
const PUSH_SERVICE_HOSTS = ["fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"];

export interface UploadsConfig {
	maxBytes: number;
	/** Bytes of assets one user may own in all (UPLOAD_QUOTA_BYTES; 0: no quota). */
	quotaBytes: number;
	cloudinaryUrl: string | undefined;
	/** Local asset files, chunks of resumable uploads and files being received (UPLOAD_DIR, default DATA_DIR/uploads). */
	dir: string;
	/** Chunk size offered to resumable uploads (UPLOAD_CHUNK_BYTES, default 5 MiB). */
	chunkBytes: number;
	/** A resumable upload untouched this long is deleted with its chunks (UPLOAD_STALE_AFTER, default 24h). */
	staleAfterSeconds: number;
}

/** Values published in examples; a production node refuses to start with one of them. */
const EXAMPLE_SECRETS = new Set(["your-super-secret-jwt-key-change-this-in-production", "change-me", "changeme", "secret"]);

export class ConfigError extends Error {}

/** Parses "900", "15m", "24h", "30d" into seconds. */
export function parseDuration(value: string | undefined, fallbackSeconds: number, name: string): number {
	if (value == null || value === "") return fallbackSeconds;
	const match = /^(\d+)\s*(s|m|h|d)?$/.exec(value.trim());
	if (!match) throw new ConfigError(`${name} must be a duration such as 900, 15m, 24h or 30d (got "${value}")`);
	const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? "s") as "s" | "m" | "h" | "d"];
	return Number(match[1]) * unit;
}

function parseInteger(value: string | undefined, fallback: number, name: string, min = 0): number {
	if (value == null || value === "") return fallback;
	const n = Number(value);
	if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer ≥ ${min} (got "${value}")`);
	return n;
}

function parseList(value: string | undefined): string[] {
	return (value ?? "")
		.split(",")
		.map(s => s.trim())
		.filter(Boolean);
}

/** "name=integer,…" → {name: integer}. */
function parseCosts(value: string | undefined, fallback: Record<string, number>, name: string): Record<string, number> {
	if (value == null || value === "") return fallback;
	return Object.fromEntries(
		parseList(value).map(entry => {
			const [key, cost] = entry.split("=").map(s => s.trim());
			if (!key || cost == null) throw new ConfigError(`${name} must be a list like chat.sync=10,presence.query=5 (got "${value}")`);
			return [key, parseInteger(cost, 1, `${name} (${key})`, 1)];
		})
	);
}

function parseMentionAll(value: string | undefined): MentionAllPolicy {
	if (value == null || value === "") return "admins";
	if (value === "admins" || value === "everyone" || value === "off") return value;
	throw new ConfigError(`MENTION_ALL must be admins, everyone or off (got "${value}")`);
}

function parseServices(value: string | undefined): ServiceName[] {
	const names = parseList(value);
	if (names.length === 0 || names.includes("all")) return [...ALL_SERVICES];
	const unknown = names.filter(n => !(ALL_SERVICES as readonly string[]).includes(n));
	if (unknown.length) throw new ConfigError(`SERVICES names unknown services: ${unknown.join(", ")} (known: ${ALL_SERVICES.join(", ")})`);
	return ALL_SERVICES.filter(n => names.includes(n));
}

/**
 * Development nodes keep a generated secret under DATA_DIR (`file`) so tokens survive restarts and nodes
 * of one checkout agree; production nodes must be given one (`required`: when the secret matters there).
 */
function resolveSecret(
	name: string,
	given: string | undefined,
	options: { nodeEnv: ChatConfig["env"]; keepUnder: string | null; file: string; required: boolean; testSecret?: string }
): string {
	const { nodeEnv, keepUnder, file } = options;
	if (nodeEnv === "production" && (given || options.required)) {
		if (!given) throw new ConfigError(`${name} must be set when NODE_ENV=production`);
		if (EXAMPLE_SECRETS.has(given) || given.length < 32)
			throw new ConfigError(`${name} is an example value or shorter than 32 characters; set a long random secret for production`);
		return given;
	}
	if (given) return given;
	if (nodeEnv === "test") return options.testSecret ?? randomBytes(32).toString("hex");
	if (keepUnder == null) return randomBytes(32).toString("hex");
	const kept = path.join(keepUnder, file);
	if (existsSync(kept)) return readFileSync(kept, "utf8").trim();
	mkdirSync(keepUnder, { recursive: true });
	const secret = randomBytes(48).toString("base64url");
	writeFileSync(kept, secret + "\n", { mode: 0o600 });
	return secret;
}

/** Test nodes of one process (several brokers of a cluster test) share one generated cluster secret. */
const TEST_CLUSTER_SECRET = randomBytes(32).toString("hex");

/** Production refuses RabbitMQ's default account (or none): whoever reaches the broker would be on the transporter. */
function checkTransporter(url: string | undefined, nodeEnv: ChatConfig["env"]): string | undefined {
	if (!url || nodeEnv !== "production" || !/^amqps?:\/\//i.test(url)) return url || undefined;
	let user = "";
	let password = "";
	try {
		const parsed = new URL(url);
		user = decodeURIComponent(parsed.username);
		password = decodeURIComponent(parsed.password);
	} catch {
		throw new ConfigError("TRANSPORTER is not a valid amqp:// URL");
	}
	if (!user || !password || user === "guest" || EXAMPLE_SECRETS.has(password))
		throw new ConfigError("TRANSPORTER must name a dedicated RabbitMQ user with a password (not guest:guest) when NODE_ENV=production");
	return url;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ChatConfig {
	const nodeEnv: ChatConfig["env"] = env.NODE_ENV === "production" ? "production" : env.NODE_ENV === "test" ? "test" : "development";
	const dataDir = path.resolve(env.DATA_DIR || "./data");
	const storage: StorageConfig = env.MONGODB_URI
		? { kind: "mongo", uri: env.MONGODB_URI }
		: env.DATA_DIR === ":memory:"
			? { kind: "memory" }
			: { kind: "nedb", dir: dataDir };
	const port = parseInteger(env.PORT, 3000, "PORT");
	const cors = parseList(env.CORS_ORIGINS);
	return {
		env: nodeEnv,
		nodeID: env.NODE_ID || undefined,
		namespace: env.NAMESPACE ?? "chat",
		host: env.HOST || "0.0.0.0",
		port,
		socketPort: parseInteger(env.SOCKET_PORT, port, "SOCKET_PORT"),
		services: parseServices(env.SERVICES),
		transporter: checkTransporter(env.TRANSPORTER, nodeEnv),
		cacher: env.CACHER || env.REDIS_URL || undefined,
		redisUrl: env.REDIS_URL || undefined,
		storage,
		dataDir,
		webDir: path.resolve(env.WEB_DIR || "./web/build"),
		logLevel: env.LOG_LEVEL || (nodeEnv === "test" ? "warn" : "info"),
		logFormat: env.LOG_FORMAT === "json" || (env.LOG_FORMAT == null && nodeEnv === "production") ? "json" : "text",
		jwt: {
			secret: resolveSecret("JWT_SECRET", env.JWT_SECRET, { nodeEnv, keepUnder: storage.kind === "nedb" ? dataDir : null, file: "jwt-secret", required: true }),
			accessTtlSeconds: parseDuration(env.JWT_EXPIRES_IN, 15 * 60, "JWT_EXPIRES_IN"),
			refreshTtlSeconds: parseDuration(env.REFRESH_TOKEN_EXPIRES_IN, 30 * 86400, "REFRESH_TOKEN_EXPIRES_IN"),
			refreshRetrySeconds: parseDuration(env.REFRESH_TOKEN_RETRY_WINDOW, 60, "REFRESH_TOKEN_RETRY_WINDOW")
		},
		clusterSecret: resolveSecret("CLUSTER_SECRET", env.CLUSTER_SECRET, {
			nodeEnv,
			keepUnder: storage.kind === "memory" ? null : dataDir,
			file: "cluster-secret",
			// An embedded node has nobody to share it with: a generated one does.
			required: !!env.TRANSPORTER,
			testSecret: TEST_CLUSTER_SECRET
		}),
		bcryptCost: parseInteger(env.BCRYPT_COST, 10, "BCRYPT_COST", 4),
		http: {
			bodyLimit: env.BODY_LIMIT || "256kb",
			// Unset: any origin in development, only the app's own origin in production.
			corsOrigins: cors.includes("*") || (cors.length === 0 && nodeEnv !== "production") ? "*" : cors,
			trustProxy: env.TRUST_PROXY === "1" || env.TRUST_PROXY === "true"
		},
		rateLimit: {
			restPerMinute: parseInteger(env.RATE_LIMIT_PER_MINUTE, 600, "RATE_LIMIT_PER_MINUTE", 1),
			sendPerSecond: parseInteger(env.SEND_RATE_PER_SECOND, 20, "SEND_RATE_PER_SECOND", 1),
			sendBurst: parseInteger(env.SEND_RATE_BURST, 40, "SEND_RATE_BURST", 1)
		},
		search: {
			perSecond: parseInteger(env.SEARCH_RATE_PER_SECOND, 2, "SEARCH_RATE_PER_SECOND", 1),
			burst: parseInteger(env.SEARCH_RATE_BURST, 20, "SEARCH_RATE_BURST", 1)
		},
		login: {
			attemptsPerAddress: parseInteger(env.LOGIN_ATTEMPTS_PER_ADDRESS, 10, "LOGIN_ATTEMPTS_PER_ADDRESS", 1),
			addressWindowSeconds: 15 * 60,
			attemptsPerAccount: parseInteger(env.LOGIN_ATTEMPTS_PER_ACCOUNT, 50, "LOGIN_ATTEMPTS_PER_ACCOUNT", 1),
			accountWindowSeconds: 3600,
			newAccountsPerAddress: parseInteger(env.LOGIN_ATTEMPTS_PER_ADDRESS_NEW_ACCOUNTS, 50, "LOGIN_ATTEMPTS_PER_ADDRESS_NEW_ACCOUNTS", 1)
		},
		socketLimits: {
			eventsPerSecond: parseInteger(env.SOCKET_EVENT_RATE_PER_SECOND, 30, "SOCKET_EVENT_RATE_PER_SECOND", 1),
			eventBurst: parseInteger(env.SOCKET_EVENT_BURST, 100, "SOCKET_EVENT_BURST", 1),
			eventCosts: parseCosts(env.SOCKET_EVENT_COSTS, { "chat.sync": 10, "presence.query": 5 }, "SOCKET_EVENT_COSTS"),
			maxSocketsPerUser: parseInteger(env.SOCKET_MAX_PER_USER, 20, "SOCKET_MAX_PER_USER", 1),
			floodRejections: parseInteger(env.SOCKET_FLOOD_REJECTIONS, 50, "SOCKET_FLOOD_REJECTIONS", 1),
			floodWindowMs: parseDuration(env.SOCKET_FLOOD_WINDOW, 10, "SOCKET_FLOOD_WINDOW") * 1000
		},
		groupLimits: {
			maxMembers: parseInteger(env.GROUP_MAX_MEMBERS, 1000, "GROUP_MAX_MEMBERS", 2),
			maxGroupsPerUser: parseInteger(env.GROUPS_PER_USER_MAX, 500, "GROUPS_PER_USER_MAX", 1)
		},
		overload: {
			maxSendsInFlight: parseInteger(env.SEND_MAX_IN_FLIGHT, 256, "SEND_MAX_IN_FLIGHT", 1),
			maxQueuedPerConversation: parseInteger(env.SEND_MAX_QUEUED_PER_CONVERSATION, 64, "SEND_MAX_QUEUED_PER_CONVERSATION", 1),
			maxEventLoopDelayMs: parseInteger(env.SEND_MAX_EVENT_LOOP_DELAY_MS, 0, "SEND_MAX_EVENT_LOOP_DELAY_MS", 0)
		},
		linkPreviews: linkPreviewsFrom(env, nodeEnv),
		messages: {
			editWindowSeconds: env.MESSAGE_EDIT_WINDOW ? parseDuration(env.MESSAGE_EDIT_WINDOW, 0, "MESSAGE_EDIT_WINDOW") : undefined
		},
		reactions: {
			perMessage: parseInteger(env.MESSAGE_REACTION_LIMIT, 20, "MESSAGE_REACTION_LIMIT", 1),
			perSecond: parseInteger(env.REACTION_RATE_PER_SECOND, 10, "REACTION_RATE_PER_SECOND", 1),
			burst: parseInteger(env.REACTION_RATE_BURST, 30, "REACTION_RATE_BURST", 1)
		},
		mentions: { all: parseMentionAll(env.MENTION_ALL) },
		uploads: {
			maxBytes: parseInteger(env.UPLOAD_MAX_BYTES, 25 * 1024 * 1024, "UPLOAD_MAX_BYTES", 1),
			quotaBytes: parseInteger(env.UPLOAD_QUOTA_BYTES, 1024 * 1024 * 1024, "UPLOAD_QUOTA_BYTES", 0),
			cloudinaryUrl: cloudinaryUrlFrom(env),
			// In-memory storage has no DATA_DIR: files go to a temporary directory instead.
			dir: path.resolve(env.UPLOAD_DIR || (storage.kind === "memory" ? path.join(tmpdir(), "chat-uploads") : path.join(dataDir, "uploads"))),
			chunkBytes: parseInteger(env.UPLOAD_CHUNK_BYTES, 5 * 1024 * 1024, "UPLOAD_CHUNK_BYTES", 1024),
			staleAfterSeconds: parseDuration(env.UPLOAD_STALE_AFTER, 24 * 3600, "UPLOAD_STALE_AFTER")
		},
		kafka: {
			brokers: parseList(env.KAFKA_BROKERS || env.KAFKA_BROKER),
			topicPrefix: env.KAFKA_TOPIC_PREFIX ?? "chat.",
			clientId: env.KAFKA_CLIENT_ID || "scalable-chat",
			inboundBots: parseList(env.KAFKA_INBOUND_BOTS).map(u => u.toLowerCase()),
			pollIntervalMs: parseInteger(env.KAFKA_POLL_INTERVAL_MS, 1000, "KAFKA_POLL_INTERVAL_MS", 10),
			idempotent: env.KAFKA_IDEMPOTENT !== "false" && env.KAFKA_IDEMPOTENT !== "0",
			maxBatchBytes: parseInteger(env.KAFKA_MAX_BATCH_BYTES, DEFAULT_KAFKA_MAX_BATCH_BYTES, "KAFKA_MAX_BATCH_BYTES", 65_536)
		},
		presence: {
			heartbeatSeconds: parseInteger(env.PRESENCE_HEARTBEAT_SECONDS, 25, "PRESENCE_HEARTBEAT_SECONDS", 1),
			graceSeconds: parseInteger(env.PRESENCE_GRACE_SECONDS, 5, "PRESENCE_GRACE_SECONDS", 0)
		},
		push: pushConfigFrom(env, nodeEnv, storage.kind === "nedb" ? dataDir : null),
		ops: {
			metricsPort: env.METRICS_PORT ? parseInteger(env.METRICS_PORT, 0, "METRICS_PORT", 1) : undefined,
			probePort: env.PROBE_PORT ? parseInteger(env.PROBE_PORT, 0, "PROBE_PORT", 1) : undefined,
			shutdownTimeoutMs: parseDuration(env.SHUTDOWN_TIMEOUT, 15, "SHUTDOWN_TIMEOUT") * 1000
		}
	};
}

function pushConfigFrom(env: NodeJS.ProcessEnv, nodeEnv: ChatConfig["env"], keepUnder: string | null): PushConfig {
	const given = { publicKey: env.VAPID_PUBLIC_KEY || undefined, privateKey: env.VAPID_PRIVATE_KEY || undefined, subject: env.VAPID_SUBJECT || undefined };
	const switched = env.WEB_PUSH === "on" || env.WEB_PUSH === "true" ? true : env.WEB_PUSH === "off" || env.WEB_PUSH === "false" ? false : undefined;
	// Production never invents keys: browsers' subscriptions are bound to the public key, so it must stay the same.
	const enabled = switched ?? (nodeEnv !== "production" || !!(given.publicKey && given.privateKey));
	if (enabled && nodeEnv === "production" && !(given.publicKey && given.privateKey && given.subject))
		throw new ConfigError("Web Push needs VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT when NODE_ENV=production (or WEB_PUSH=off)");
	if (given.publicKey && given.privateKey) {
		const problem = checkVapidKeys({ publicKey: given.publicKey, privateKey: given.privateKey });
		if (problem) throw new ConfigError(problem);
	}
	if (given.subject && !/^(mailto:|https:\/\/)/.test(given.subject)) throw new ConfigError("VAPID_SUBJECT must be a mailto: or https:// URL");
	const testEndpoints = parseList(env.PUSH_TEST_ENDPOINTS);
	// It lets subscriptions point at http and private addresses: for a push service stand-in in tests only.
	if (testEndpoints.length && nodeEnv === "production") throw new ConfigError("PUSH_TEST_ENDPOINTS is for tests only; unset it when NODE_ENV=production");
	const hosts = parseList(env.PUSH_ENDPOINT_HOSTS).map(h => h.toLowerCase());
	return {
		enabled,
		vapid: resolveVapidKeys(given, enabled ? keepUnder : null),
		endpointHosts: hosts.length ? hosts : PUSH_SERVICE_HOSTS,
		testEndpoints,
		concurrency: parseInteger(env.PUSH_CONCURRENCY, 16, "PUSH_CONCURRENCY", 1),
		timeoutMs: parseDuration(env.PUSH_TIMEOUT, 10, "PUSH_TIMEOUT") * 1000
	};
}

/** The allow list opens the fetcher to addresses it refuses otherwise (loopback, the private network): never in production. */
function linkPreviewsFrom(env: NodeJS.ProcessEnv, nodeEnv: ChatConfig["env"]): ChatConfig["linkPreviews"] {
	const switchValue = (env.LINK_PREVIEWS ?? "on").trim().toLowerCase();
	if (!["on", "off", "true", "false", "1", "0", ""].includes(switchValue))
		throw new ConfigError(`LINK_PREVIEWS must be on or off (got "${env.LINK_PREVIEWS}")`);
	const allowHosts = parseList(env.LINK_PREVIEW_ALLOW_HOSTS).map(h => h.toLowerCase());
	for (const entry of allowHosts) {
		if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+):\d{1,5}$/.test(entry)) throw new ConfigError(`LINK_PREVIEW_ALLOW_HOSTS entries must be host:port (got "${entry}")`);
	}
	if (allowHosts.length && nodeEnv === "production")
		throw new ConfigError("LINK_PREVIEW_ALLOW_HOSTS is a test and development setting: it lets previews reach private addresses, so production refuses it");
	return { enabled: !["off", "false", "0"].includes(switchValue), allowHosts: allowHosts.map(h => h.replace(/^\[(.*)\]:/, "$1:")) };
}

function cloudinaryUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
	if (env.CLOUDINARY_URL) return env.CLOUDINARY_URL;
	const { CLOUDINARY_CLOUD_NAME: cloud, CLOUDINARY_API_KEY: key, CLOUDINARY_API_SECRET: secret } = env;
	if (cloud && key && secret) return `cloudinary://${key}:${secret}@${cloud}`;
	return undefined;
}

/** A test or embedded configuration: in-memory storage, no transporter, chosen overrides. */
export function testConfig(overrides: Partial<ChatConfig> = {}): ChatConfig {
	// Sends share one bucket per user on every entry point; tests that exercise the limit set their own.
	const base = loadConfig({
		NODE_ENV: "test",
		DATA_DIR: ":memory:",
		BCRYPT_COST: "4",
		PORT: "0",
		SEND_RATE_PER_SECOND: "1000",
		SEND_RATE_BURST: "1000",
		SEARCH_RATE_PER_SECOND: "1000",
		SEARCH_RATE_BURST: "1000",
		REACTION_RATE_PER_SECOND: "1000",
		REACTION_RATE_BURST: "1000",
		SOCKET_EVENT_RATE_PER_SECOND: "10000",
		SOCKET_EVENT_BURST: "10000",
		LOGIN_ATTEMPTS_PER_ADDRESS: "10000",
		LOGIN_ATTEMPTS_PER_ACCOUNT: "10000",
		LOGIN_ATTEMPTS_PER_ADDRESS_NEW_ACCOUNTS: "10000"
	});
	return { ...base, ...overrides };
}

const configs = new WeakMap<ServiceBroker, ChatConfig>();

/** Brokers carry their ChatConfig so services read settings without touching process.env. */
export function attachConfig(broker: ServiceBroker, config: ChatConfig): void {
	configs.set(broker, config);
}

export function chatConfig(broker: ServiceBroker): ChatConfig {
	const config = configs.get(broker);
	if (!config) throw new Error("This broker was created without a ChatConfig (start nodes with app/node.ts startNode, or attachConfig)");
	return config;
}
