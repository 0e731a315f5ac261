import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClientSpec, TargetKind } from "../generator/protocol.ts";
import { freePort, ServerProcess } from "./child.ts";
import type { MemorySample } from "./server-ipc.ts";

export type Mode = "embedded" | "cluster";

export interface BenchUser {
	userId: string;
	auth: Record<string, unknown>;
	/** Bearer token for REST (ours only). */
	accessToken?: string;
}

export interface TargetOptions {
	mode: Mode;
	/** Extra environment for our nodes (e.g. DATA_DIR of a seeded store). */
	env?: Record<string, string>;
	/** Node flags for our gateway nodes, e.g. --cpu-prof. */
	nodeArgs?: string[];
	/** Embedded mode: the cores (taskset list) the node is pinned to. */
	cpus?: string;
	/** A broker URL (amqp://…, redis://…), or "tcp" for Moleculer's TCP transporter between the nodes (no broker). */
	transporter?: string;
	redisUrl?: string;
	/** Cluster mode: how many socket-only nodes (default 2). */
	socketNodes?: number;
	/** Cluster mode: taskset lists for the core node and for each socket node; unpinned without it. */
	clusterCpus?: { core: string; sockets: string[] };
}

/**
 * The V8 flags `npm start` and the Docker image run our node with (package.json, Dockerfile): a 32 MB young
 * generation promotes fewer short-lived send objects into the old generation, so full collections of a heap that
 * holds every stored message (NeDB) come less often (docs/BENCHMARKS.md, S6).
 */
export const SERVER_NODE_FLAGS = ["--max-semi-space-size=32"];

/** Consecutive clients share a source address up to this many; loopback has ~28k ephemeral ports per address. */
const CLIENTS_PER_SOURCE_ADDRESS = 20_000;

export function sourceAddress(index: number): string {
	return `127.0.0.${2 + Math.floor(index / CLIENTS_PER_SOURCE_ADDRESS)}`;
}

export const TARGET_LABEL: Record<TargetKind, string> = { ours: "ours", b1: "B1 ws", b2: "B2 socket.io" };

/** A server under test: its processes, how to make users and groups on it, and where clients connect. */
export abstract class Target {
	readonly kind: TargetKind;
	protected servers: ServerProcess[] = [];
	protected gatewayUrls: string[] = [];

	constructor(kind: TargetKind) {
		this.kind = kind;
	}

	abstract start(): Promise<void>;
	abstract createUsers(count: number): Promise<BenchUser[]>;
	/** Groups with the given members (the first member creates it); returns their ids. */
	abstract createGroups(groups: BenchUser[][], type: "group" | "direct"): Promise<string[]>;

	/**
	 * Client specs for users, from a spread of source addresses. A conversation's members are dealt round-robin over
	 * the gateways, starting one gateway further for each conversation, so that its senders (its first members) do not
	 * all land on the first gateways; a client in no conversation connects to gateway i mod gateways.
	 */
	clientSpecs(users: BenchUser[], groupsOf: (u: BenchUser, i: number) => string[], firstIndex = 0): ClientSpec[] {
		const dealt = new Map<string, { ordinal: number; members: number }>();
		return users.map((u, i) => {
			const groups = groupsOf(u, i);
			const auth = this.kind === "b2" ? { ...u.auth, groups } : u.auth;
			let slot = firstIndex + i;
			if (groups.length) {
				const conversation = dealt.get(groups[0]) ?? { ordinal: dealt.size, members: 0 };
				dealt.set(groups[0], conversation);
				slot = conversation.ordinal + conversation.members++;
			}
			const gateway = slot % this.gatewayUrls.length;
			return { userId: u.userId, url: this.gatewayUrls[gateway], gateway, auth, groups, localAddress: sourceAddress(firstIndex + i) };
		});
	}

	/** Memory after GC of every gateway process (one in embedded mode). */
	async gatewayMemory(): Promise<MemorySample[]> {
		return Promise.all(this.gateways().map(s => s.memory()));
	}

	/** CPU seconds used so far by each server process, to turn into cores used over a step. */
	async cpuSeconds(): Promise<number[]> {
		return Promise.all(this.servers.map(s => s.cpuSeconds()));
	}

	protected gateways(): ServerProcess[] {
		return this.servers;
	}

	async stop(): Promise<void> {
		await Promise.all(this.servers.map(s => s.stop()));
	}
}

class BaselineTarget extends Target {
	async start(): Promise<void> {
		const port = await freePort();
		const entry = this.kind === "b1" ? "bench/baselines/ws-server.ts" : "bench/baselines/socketio-server.ts";
		const server = new ServerProcess(this.kind, entry, { PORT: String(port), HOST: "127.0.0.1" });
		this.servers = [server];
		await server.ready;
		this.gatewayUrls = [`http://127.0.0.1:${port}`];
	}

	async createUsers(count: number): Promise<BenchUser[]> {
		return Array.from({ length: count }, (_, i) => ({ userId: `u${i}`, auth: { token: `u${i}` } }));
	}

	private groups = 0;
	async createGroups(groups: BenchUser[][]): Promise<string[]> {
		return groups.map(() => `g${this.groups++}`);
	}
}

/** Runs `work` over items with at most `lanes` in flight. */
export async function inLanes<T, R>(items: T[], lanes: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
	const out: R[] = new Array(items.length);
	let next = 0;
	await Promise.all(
		Array.from({ length: Math.min(lanes, items.length) }, async () => {
			while (next < items.length) {
				const i = next++;
				out[i] = await work(items[i], i);
			}
		})
	);
	return out;
}

/**
 * RabbitMQ's guest account is refused by production config (lib/config.ts), and bench nodes run as production: a
 * broker for the benchmark needs this account (`rabbitmqctl add_user chat-bench chat-bench-password` and
 * `rabbitmqctl set_permissions chat-bench ".*" ".*" ".*"`).
 */
export const DEFAULT_TRANSPORTER = "amqp://chat-bench:chat-bench-password@127.0.0.1:5672";

/** The transporter's name in result rows: "amqp", "redis", "tcp"… */
export function transporterLabel(choice: string): string {
	return choice.toLowerCase() === "tcp" ? "tcp" : new URL(choice).protocol.replace(":", "");
}

/**
 * "tcp": Moleculer's TCP transporter with every node's address listed up front, so nothing depends on UDP discovery
 * (which still runs, and ignores other namespaces: other benchmarks on the machine).
 */
async function transporterUrl(choice: string, nodeIds: string[]): Promise<string> {
	if (choice.toLowerCase() !== "tcp") return choice;
	const urls: string[] = [];
	for (const nodeId of nodeIds) urls.push(`tcp://127.0.0.1:${await freePort()}/${nodeId}`);
	return urls.join(",");
}

/**
 * The API takes up to 1,000 member ids per call, but groups.create checks them through users.getMany,
 * which takes 200 (reported); 200 per call works with both.
 */
const MEMBERS_PER_CALL = 200;

export class OurTarget extends Target {
	private readonly options: TargetOptions;
	private apiUrl = "";
	private dataDir: string | null = null;
	private gatewayServers: ServerProcess[] = [];
	readonly nonce = randomBytes(3).toString("hex");

	constructor(options: TargetOptions) {
		super("ours");
		this.options = options;
	}

	get restUrl(): string {
		return this.apiUrl;
	}

	async start(): Promise<void> {
		const ownDataDir = !this.options.env?.DATA_DIR;
		if (ownDataDir) this.dataDir = mkdtempSync(path.join(tmpdir(), "chat-bench-"));
		const common: Record<string, string> = {
			NODE_ENV: "production",
			HOST: "127.0.0.1",
			LOG_LEVEL: "warn",
			JWT_SECRET: randomBytes(32).toString("hex"),
			JWT_EXPIRES_IN: "24h",
			// Registering thousands of users is setup, not what is measured.
			BCRYPT_COST: "4",
			RATE_LIMIT_PER_MINUTE: "100000000",
			SEND_RATE_PER_SECOND: "100000",
			SEND_RATE_BURST: "100000",
			SOCKET_EVENT_RATE_PER_SECOND: "100000",
			SOCKET_EVENT_BURST: "100000",
			SOCKET_MAX_PER_USER: "100000",
			...(this.dataDir ? { DATA_DIR: this.dataDir } : {}),
			...this.options.env
		};
		if (this.options.mode === "embedded") {
			const port = await freePort();
			const node = new ServerProcess(
				"ours",
				"bench/server.ts",
				{ ...common, PORT: String(port), NODE_ID: `bench-${this.nonce}` },
				[...SERVER_NODE_FLAGS, ...(this.options.nodeArgs ?? [])],
				this.options.cpus
			);
			this.servers = [node];
			this.gatewayServers = [node];
			await node.ready;
			this.apiUrl = `http://127.0.0.1:${port}`;
			this.gatewayUrls = [this.apiUrl];
			return;
		}
		const coreNodeId = `bench-${this.nonce}-core`;
		const socketNodeIds = Array.from({ length: this.options.socketNodes ?? 2 }, (_, i) => `bench-${this.nonce}-socket-${i}`);
		const cluster = {
			...common,
			NAMESPACE: `bench-${this.nonce}`,
			CLUSTER_SECRET: randomBytes(32).toString("hex"),
			TRANSPORTER: await transporterUrl(this.options.transporter ?? DEFAULT_TRANSPORTER, [coreNodeId, ...socketNodeIds]),
			// "none": presence, caches and rate limits in memory (one core node holds presence), for a machine without Redis.
			...(this.options.redisUrl === "none" ? {} : { REDIS_URL: this.options.redisUrl ?? "redis://127.0.0.1:6379" })
		};
		const apiPort = await freePort();
		const core = new ServerProcess(
			"ours-core",
			"bench/server.ts",
			{ ...cluster, PORT: String(apiPort), NODE_ID: coreNodeId, SERVICES: "users,auth,groups,messages,presence,api" },
			[...SERVER_NODE_FLAGS, ...(this.options.nodeArgs ?? [])],
			this.options.clusterCpus?.core
		);
		await core.ready;
		const gateways: ServerProcess[] = [];
		for (const [i, nodeId] of socketNodeIds.entries()) {
			const port = await freePort();
			gateways.push(
				new ServerProcess(
					`ours-socket-${i}`,
					"bench/server.ts",
					{ ...cluster, PORT: String(port), SOCKET_PORT: String(port), NODE_ID: nodeId, SERVICES: "socket" },
					[...SERVER_NODE_FLAGS, ...(this.options.nodeArgs ?? [])],
					this.options.clusterCpus?.sockets[i]
				)
			);
			this.gatewayUrls.push(`http://127.0.0.1:${port}`);
		}
		this.servers = [core, ...gateways];
		this.gatewayServers = gateways;
		await Promise.all(gateways.map(g => g.ready));
		this.apiUrl = `http://127.0.0.1:${apiPort}`;
	}

	protected gateways(): ServerProcess[] {
		return this.gatewayServers;
	}

	/** The last lines the nodes wrote. */
	log(): string {
		return this.servers.map(s => s.log()).join("\n");
	}

	async rest<T = any>(method: string, url: string, body?: unknown, token?: string): Promise<T> {
		for (let attempt = 0; ; attempt++) {
			const res = await fetch(this.apiUrl + url, {
				method,
				headers: { ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
				body: body === undefined ? undefined : JSON.stringify(body)
			});
			const text = await res.text();
			if (res.ok) return (text ? JSON.parse(text) : null) as T;
			if (res.status >= 500 && attempt < 3) continue;
			throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
		}
	}

	async createUsers(count: number, prefix = "b"): Promise<BenchUser[]> {
		const start = this.userCount;
		this.userCount += count;
		return inLanes(
			Array.from({ length: count }, (_, i) => start + i),
			16,
			async i => {
				const body = await this.rest<{ user: { id: string }; accessToken: string }>("POST", "/api/auth/register", {
					username: `${prefix}${this.nonce}_${i}`,
					password: "bench-password"
				});
				return { userId: body.user.id, auth: { token: body.accessToken }, accessToken: body.accessToken };
			}
		);
	}
	private userCount = 0;

	async createGroups(groups: BenchUser[][], type: "group" | "direct"): Promise<string[]> {
		return inLanes(groups, 4, async (members, i) => {
			const [owner, ...others] = members;
			const body = await this.rest<{ id: string }>(
				"POST",
				"/api/groups",
				{ ...(type === "group" ? { name: `bench ${i}` } : {}), type, memberIds: others.slice(0, MEMBERS_PER_CALL).map(u => u.userId) },
				owner.accessToken
			);
			for (let at = MEMBERS_PER_CALL; at < others.length; at += MEMBERS_PER_CALL)
				await this.rest("POST", `/api/groups/${body.id}/members`, { userIds: others.slice(at, at + MEMBERS_PER_CALL).map(u => u.userId) }, owner.accessToken);
			return body.id;
		});
	}

	async stop(): Promise<void> {
		await super.stop();
		if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
	}
}

export function createTarget(kind: TargetKind, options: TargetOptions): Target {
	return kind === "ours" ? new OurTarget(options) : new BaselineTarget(kind);
}
