import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";

/**
 * Process-level cluster tests: real nodes started with the project's start command, nginx from the
 * distribution with the repo's config, and TCP proxies to cut RabbitMQ/Redis without touching the
 * shared servers. Everything started here is tracked and killed on cleanup, and on process exit.
 */

export const ROOT = path.resolve(import.meta.dirname, "../..");
const NODE_BIN = path.join(ROOT, "node_modules/.bin/node");
export const RABBITMQ = { host: "127.0.0.1", port: 5672 };
export const REDIS = { host: "127.0.0.1", port: 6379 };

const children = new Set<ChildProcess>();
const nginxes = new WeakSet<ChildProcess>();
process.once("exit", () => {
	// nginx's master must stop its own workers: SIGTERM; node processes have no children of their own.
	for (const child of children) child.kill(nginxes.has(child) ? "SIGTERM" : "SIGKILL");
});

export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const port = (server.address() as { port: number }).port;
	await new Promise(resolve => server.close(resolve));
	return port;
}

/** Polls `condition` until it is truthy (bounded by `timeoutMs`); returns its value. */
export async function waitUntil<T>(what: string, condition: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
	const deadline = Date.now() + timeoutMs;
	let lastError: unknown;
	for (;;) {
		try {
			const value = await condition();
			if (value) return value as NonNullable<T>;
		} catch (err) {
			lastError = err;
		}
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ""}`);
		await new Promise(r => setTimeout(r, intervalMs));
	}
}

/** Whether a TCP port answers (for the CI=true rule: a missing dependency is a failure, not a skip). */
export function reachable(target: { host: string; port: number }, timeoutMs = 2000): Promise<boolean> {
	return new Promise(resolve => {
		const socket = connect(target.port, target.host);
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.once("connect", () => done(true));
		socket.once("error", () => done(false));
	});
}

export function nginxBinary(): string | null {
	const found = spawnSync("sh", ["-c", "command -v nginx || ls /usr/sbin/nginx"], { encoding: "utf8" });
	const bin = found.stdout.trim().split("\n")[0];
	return found.status === 0 && bin ? bin : null;
}

export interface NodeProcess {
	name: string;
	nodeID: string;
	env: Record<string, string>;
	process: ChildProcess;
	exited: Promise<number | null>;
	log(): string;
	kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** One cluster under test: a unique namespace, shared JWT and cluster secrets, a temp dir for data and logs. */
export class TestCluster {
	readonly namespace = `chat-test-${process.pid}-${randomBytes(3).toString("hex")}`;
	readonly dir = mkdtempSync(path.join(tmpdir(), "chat-cluster-"));
	readonly jwtSecret = randomBytes(32).toString("hex");
	/** Every node of the cluster seals its packets and signs callers with it (lib/cluster-trust.ts). */
	readonly clusterSecret = randomBytes(32).toString("hex");
	readonly nodes: NodeProcess[] = [];
	private readonly proxies: TcpProxy[] = [];
	private nginx: { process: ChildProcess; exited: Promise<number | null> } | null = null;

	constructor() {
		chmodSync(this.dir, 0o755);
	}

	/** Starts `npm start`'s command (node app/server.ts) with the cluster's env plus `env`. */
	startNode(name: string, env: Record<string, string>): NodeProcess {
		const nodeID = `${name}-${this.namespace}`;
		const fullEnv: Record<string, string> = {
			PATH: process.env.PATH ?? "",
			NODE_ENV: "test",
			LOG_LEVEL: "info",
			LOG_FORMAT: "text",
			NAMESPACE: this.namespace,
			NODE_ID: nodeID,
			JWT_SECRET: this.jwtSecret,
			CLUSTER_SECRET: this.clusterSecret,
			BCRYPT_COST: "4",
			HOST: "127.0.0.1",
			DATA_DIR: path.join(this.dir, `data-${name}`),
			WEB_DIR: path.join(this.dir, "no-web"),
			...env
		};
		const logFile = path.join(this.dir, `${name}.log`);
		const out = createWriteStream(logFile, { flags: "a" });
		const child = spawn(NODE_BIN, ["--disable-warning=DEP0174", "--max-semi-space-size=32", "app/server.ts"], {
			cwd: ROOT,
			env: fullEnv,
			stdio: ["ignore", "pipe", "pipe"]
		});
		child.stdout!.pipe(out, { end: false });
		child.stderr!.pipe(out, { end: false });
		children.add(child);
		const exited = new Promise<number | null>(resolve =>
			child.once("exit", code => {
				children.delete(child);
				resolve(code);
			})
		);
		const node: NodeProcess = {
			name,
			nodeID,
			env: fullEnv,
			process: child,
			exited,
			log: () => readFileSync(logFile, "utf8"),
			async kill(signal = "SIGTERM") {
				if (child.exitCode == null && child.signalCode == null) child.kill(signal);
				return exited;
			}
		};
		this.nodes.push(node);
		return node;
	}

	/** A TCP proxy to `target` on a free loopback port: point nodes at it, then cut() and restore() it. */
	async proxy(target: { host: string; port: number }): Promise<TcpProxy> {
		const proxy = new TcpProxy(target);
		await proxy.start();
		this.proxies.push(proxy);
		return proxy;
	}

	/** nginx with the repo's nginx/nginx.conf rendered for these upstreams; resolves once it answers. */
	async startNginx(options: Omit<NginxRender, "prefix">): Promise<void> {
		const bin = nginxBinary();
		if (!bin) throw new Error("nginx is not installed (apt-get install -y nginx)");
		const prefix = path.join(this.dir, "nginx");
		const conf = writeNginxConfig({ ...options, prefix });
		const child = spawn(bin, ["-p", prefix, "-c", conf, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
		let stderr = "";
		child.stderr!.on("data", chunk => (stderr += chunk));
		children.add(child);
		nginxes.add(child);
		const exited = new Promise<number | null>(resolve =>
			child.once("exit", code => {
				children.delete(child);
				resolve(code);
			})
		);
		this.nginx = { process: child, exited };
		await waitUntil(
			"nginx to answer",
			async () => {
				if (child.exitCode != null) throw new Error(`nginx exited: ${stderr}`);
				return (await fetch(`http://127.0.0.1:${options.listenPort}/nginx-health`)).ok;
			},
			15_000
		);
	}

	/** Kills every process (SIGTERM, then SIGKILL after 10 s), closes proxies, deletes the namespace's Redis keys and the temp dir. */
	async stop(): Promise<void> {
		const all = this.nodes.map(n => ({ process: n.process, exited: n.exited }));
		if (this.nginx) all.push(this.nginx);
		await Promise.all(
			all.map(async ({ process: child, exited }) => {
				if (child.exitCode != null || child.signalCode != null) return;
				child.kill("SIGTERM");
				const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
				await exited;
				clearTimeout(timer);
			})
		);
		for (const proxy of this.proxies) await proxy.close();
		await deleteRedisKeys(this.namespace).catch(() => undefined);
		if (!process.env.KEEP_CLUSTER_LOGS) rmSync(this.dir, { recursive: true, force: true });
	}

	/** The nodes' logs, for a failure message. */
	logs(): string {
		return this.nodes.map(n => `===== ${n.name}\n${n.log().split("\n").slice(-40).join("\n")}`).join("\n");
	}
}

async function deleteRedisKeys(namespace: string): Promise<void> {
	const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
	await redis.connect();
	try {
		let cursor = "0";
		do {
			const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}*`, "COUNT", 500);
			if (keys.length) await redis.del(...keys);
			cursor = next;
		} while (cursor !== "0");
	} finally {
		redis.disconnect();
	}
}

/** Loopback TCP proxy: cut() drops every connection and refuses new ones (an outage); restore() listens again on the same port. */
export class TcpProxy {
	readonly target: { host: string; port: number };
	port = 0;
	private server: Server | null = null;
	private readonly sockets = new Set<Socket>();

	constructor(target: { host: string; port: number }) {
		this.target = target;
	}

	async start(): Promise<void> {
		const server = createServer(client => {
			const upstream = connect(this.target.port, this.target.host);
			this.sockets.add(client).add(upstream);
			const drop = () => {
				client.destroy();
				upstream.destroy();
				this.sockets.delete(client);
				this.sockets.delete(upstream);
			};
			client.on("error", drop).on("close", drop);
			upstream.on("error", drop).on("close", drop);
			client.pipe(upstream).pipe(client);
		});
		await new Promise<void>((resolve, reject) => {
			server.once("error", reject);
			server.listen(this.port, "127.0.0.1", () => resolve());
		});
		this.port = (server.address() as { port: number }).port;
		this.server = server;
	}

	get url(): string {
		return `127.0.0.1:${this.port}`;
	}

	async cut(): Promise<void> {
		const server = this.server;
		this.server = null;
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
		if (server) await new Promise(resolve => server.close(resolve));
	}

	restore(): Promise<void> {
		return this.start();
	}

	close(): Promise<void> {
		return this.cut();
	}
}

export interface NginxRender {
	/** host:port of each API node */
	apiServers: string[];
	/** host:port of each socket gateway */
	socketServers: string[];
	listenPort: number;
	/** nginx's prefix: pid, logs and temp files go here */
	prefix: string;
	/** The built web client; an empty directory when not given */
	webRoot?: string;
}

/** What writeWebBuild's index.html says: a response that contains it is the SPA fallback, not the API. */
export const WEB_BUILD_MARKER = "<title>chat (test web build)</title>";

/**
 * A stand-in for web/build in `dir` (its index.html), so that nginx runs as shipped, with a
 * build in its root: its SPA fallback then answers every path that no location sends to an upstream.
 */
export function writeWebBuild(dir: string): string {
	mkdirSync(dir, { recursive: true });
	writeFileSync(path.join(dir, "index.html"), `<!doctype html>${WEB_BUILD_MARKER}<div id="app"></div>`);
	chmodSync(dir, 0o755);
	return dir;
}

/**
 * nginx/nginx.conf with test addresses: loopback listen port, these upstream servers, and pid/log/temp
 * paths under `prefix`. Everything else (headers, timeouts, websocket upgrade, SPA fallback) is the file as shipped.
 */
export function renderNginxConfig(options: NginxRender): string {
	const { prefix } = options;
	const webRoot = options.webRoot ?? path.join(prefix, "html");
	let conf = readFileSync(path.join(ROOT, "nginx/nginx.conf"), "utf8");
	const servers = (list: string[]) => list.map(s => `\t\tserver ${s} max_fails=3 fail_timeout=10s;`).join("\n");
	const replaceUpstream = (name: string, list: string[]) => {
		const re = new RegExp(`(upstream ${name} \\{[^}]*?)((?:\\n\\s*server [^\\n]*;)+)`);
		if (!re.test(conf)) throw new Error(`nginx.conf has no upstream ${name}`);
		conf = conf.replace(re, (_m, head: string) => `${head}\n${servers(list)}`);
	};
	replaceUpstream("chat_api", options.apiServers);
	replaceUpstream("chat_socket", options.socketServers);
	const swap = (from: RegExp, to: string) => {
		if (!from.test(conf)) throw new Error(`nginx.conf: ${from} not found`);
		conf = conf.replace(from, to);
	};
	swap(/^worker_processes .*;$/m, "worker_processes 1;");
	swap(/^pid .*;$/m, `pid ${prefix}/nginx.pid;`);
	swap(/^error_log .*;$/m, `error_log ${prefix}/logs/error.log warn;`);
	swap(/access_log \/dev\/stdout;/, `access_log ${prefix}/logs/access.log;`);
	swap(/listen 80;/, `listen 127.0.0.1:${options.listenPort};`);
	swap(/root \/usr\/share\/nginx\/html;/, `root ${webRoot};`);
	swap(
		/^http \{$/m,
		[
			"http {",
			`\tclient_body_temp_path ${prefix}/temp/body;`,
			`\tproxy_temp_path ${prefix}/temp/proxy;`,
			`\tfastcgi_temp_path ${prefix}/temp/fastcgi;`,
			`\tuwsgi_temp_path ${prefix}/temp/uwsgi;`,
			`\tscgi_temp_path ${prefix}/temp/scgi;`
		].join("\n")
	);
	return conf;
}

/** Writes the rendered config (and the directories it names) under `prefix`; returns its path. */
export function writeNginxConfig(options: NginxRender): string {
	for (const dir of ["logs", "temp", "html"]) mkdirSync(path.join(options.prefix, dir), { recursive: true });
	chmodSync(options.prefix, 0o755);
	const file = path.join(options.prefix, "nginx.conf");
	writeFileSync(file, renderNginxConfig(options));
	return file;
}

/** One JSON request to a node (its body parsed, or null); fails after 5 s, as a node that went away mid-request. */
export async function callNode(base: string, method: string, url: string, body?: unknown, token?: string): Promise<{ status: number; body: any }> {
	const res = await fetch(base + url, {
		method,
		headers: { ...(body ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
		body: body ? JSON.stringify(body) : undefined,
		signal: AbortSignal.timeout(5000)
	});
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** A node started on a free port, once its /ready answers 200 (fails with its log if it exits first or takes 60 s). */
export async function startReadyNode(cluster: TestCluster, name: string, env: Record<string, string>): Promise<{ node: NodeProcess; base: string }> {
	const port = await freePort();
	const node = cluster.startNode(name, { ...env, PORT: String(port) });
	const base = `http://127.0.0.1:${port}`;
	const deadline = Date.now() + 60_000;
	for (;;) {
		if (node.process.exitCode != null || node.process.signalCode != null)
			throw new Error(`${name} did not start (exit ${node.process.exitCode}):\n${node.log()}`);
		if (Date.now() > deadline) throw new Error(`${name} not ready after 60 s:\n${node.log()}`);
		const ready = await fetch(`${base}/ready`).then(
			res => res.ok,
			() => false
		);
		if (ready) return { node, base };
		await new Promise(resolve => setTimeout(resolve, 20));
	}
}
