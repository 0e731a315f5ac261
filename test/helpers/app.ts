import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before } from "node:test";
import type { ServiceBroker } from "moleculer";
import type { Message } from "../../contract/messages.ts";
import { testConfig, type ChatConfig } from "../../lib/config.ts";
import { startNode } from "../../app/node.ts";
import { closeAll, connectSocket, socketUrl, type ClientSocket } from "./socket.ts";

export interface TestApp {
	broker: ServiceBroker;
	config: ChatConfig;
	/** http://127.0.0.1:PORT of the API gateway (when this node runs it). */
	url: string;
	stop(): Promise<void>;
}

/** Writes the messages service's write-behind (conversation heads, senders' reads) now, as a stopping node does. */
export function flushWriteBehind(app: TestApp): Promise<void> {
	return (app.broker.getLocalService("messages") as unknown as { heads: { flush(): Promise<void> } }).heads.flush();
}

/** A fresh temporary DATA_DIR, removed by the returned cleanup. */
export function tempDataDir(): { dir: string; remove(): void } {
	const dir = mkdtempSync(path.join(tmpdir(), "chat-test-"));
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * `run` gets a `start` that starts the embedded app on NeDB files in a fresh DATA_DIR, the same files and the same
 * JWT secret every time (a restart); the files go when `run` ends. `run` stops what it started.
 */
export async function withDataFiles(run: (start: () => Promise<TestApp>) => Promise<void>): Promise<void> {
	const data = tempDataDir();
	try {
		const storage = { kind: "nedb" as const, dir: data.dir };
		const jwt = { secret: "s".repeat(40), accessTtlSeconds: 900, refreshTtlSeconds: 86400, refreshRetrySeconds: 60 };
		await run(() => startTestApp({ storage, jwt }));
	} finally {
		data.remove();
	}
}

/**
 * Starts a real node (embedded: every service, in-memory NeDB) on a free port. Set MONGODB_URI to
 * run the same tests against MongoDB; each app then gets its own database.
 */
/** The URI with its database (the path after the hosts) replaced: `mongodb://h:27017`, `…/chat?x=y` and `mongodb+srv://…` alike. */
export function testDatabaseUri(uri: string, database: string): string {
	const parts = /^(mongodb(?:\+srv)?:\/\/[^/?]*)(?:\/[^?]*)?(\?.*)?$/.exec(uri);
	if (!parts) throw new Error(`MONGODB_URI is not a mongodb:// URI: ${uri}`);
	return `${parts[1]}/${database}${parts[2] ?? ""}`;
}

export async function startTestApp(overrides: Partial<ChatConfig> = {}): Promise<TestApp> {
	const mongo = process.env.MONGODB_URI;
	const storage: ChatConfig["storage"] = mongo ? { kind: "mongo", uri: testDatabaseUri(mongo, `chat_test_${process.pid}_${Date.now()}`) } : { kind: "memory" };
	const config = testConfig({ port: 0, host: "127.0.0.1", storage, ...overrides });
	const broker = await startNode(config);
	const api = broker.getLocalService("api") as unknown as { server?: import("node:http").Server } | undefined;
	const port = api?.server ? (api.server.address() as AddressInfo).port : 0;
	return {
		broker,
		config,
		url: `http://127.0.0.1:${port}`,
		async stop() {
			await broker.stop();
		}
	};
}

export interface HttpResult<T = any> {
	status: number;
	body: T;
	headers: Headers;
}

/** A small REST client bound to one app and (optionally) one access token. */
export function client(app: { url: string }, token?: string) {
	async function request<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
		const res = await fetch(app.url + url, {
			method,
			headers: {
				...(body !== undefined && typeof body !== "string" ? { "content-type": "application/json" } : {}),
				...(typeof body === "string" ? { "content-type": "application/json" } : {}),
				...(token ? { authorization: `Bearer ${token}` } : {}),
				...headers
			},
			body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body)
		});
		const text = await res.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			// not JSON: keep the text
		}
		return { status: res.status, body: parsed as T, headers: res.headers };
	}
	return {
		get: <T = any>(url: string, headers?: Record<string, string>) => request<T>("GET", url, undefined, headers),
		post: <T = any>(url: string, body?: unknown, headers?: Record<string, string>) => request<T>("POST", url, body ?? {}, headers),
		put: <T = any>(url: string, body?: unknown) => request<T>("PUT", url, body ?? {}),
		del: <T = any>(url: string) => request<T>("DELETE", url),
		request
	};
}

let userCounter = 0;

export interface TestUser {
	user: { id: string; username: string; displayName: string };
	accessToken: string;
	refreshToken: string;
}

/** Registers a new user with a unique name (prefix + counter) and returns its session. */
export async function registerUser(app: { url: string }, prefix = "user"): Promise<TestUser> {
	const username = `${prefix}${process.pid % 1000}_${++userCounter}`.toLowerCase();
	const res = await client(app).post("/api/auth/register", { username, password: "correct horse battery" });
	if (res.status !== 201) throw new Error(`register ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
	return res.body;
}

/** What tests do as users of one app over REST; `app` is read at each call, so it may be started later. */
export interface AppActions {
	/** A REST client acting as `user`. */
	api(user: TestUser): ReturnType<typeof client>;
	/** A new conversation that `owner` creates with `members`; fails the test unless it is created. */
	group(owner: TestUser, name: string, members: TestUser[], extra?: Record<string, unknown>): Promise<string>;
	/** A message `user` sends over REST; fails the test unless it is stored. */
	send(user: TestUser, groupId: string, content: string, extra?: Record<string, unknown>): Promise<Message>;
	/** Every message of a conversation as `user` reads it now, page by page. */
	history(user: TestUser, groupId: string): Promise<Message[]>;
}

export function appActions(app: () => { url: string }): AppActions {
	const api = (user: TestUser) => client(app(), user.accessToken);
	return {
		api,
		async group(owner, name, members, extra = {}) {
			const res = await api(owner).post("/api/groups", { name, memberIds: members.map(m => m.user.id), ...extra });
			assert.equal(res.status, 201, JSON.stringify(res.body));
			return res.body.id as string;
		},
		async send(user, groupId, content, extra = {}) {
			const res = await api(user).post("/api/messages", { groupId, content, ...extra });
			assert.equal(res.status, 201, JSON.stringify(res.body));
			return res.body as Message;
		},
		async history(user, groupId) {
			const items: Message[] = [];
			for (;;) {
				const page = await api(user).get(`/api/messages/${groupId}?after=${items.length}&limit=100`);
				assert.equal(page.status, 200, JSON.stringify(page.body));
				items.push(...page.body.items);
				if (page.body.items.length < 100) return items;
			}
		}
	};
}

/** One app for a describe block, with its people registered; see useTestApp. */
export interface AppFixture<A extends TestApp = TestApp> extends AppActions {
	readonly app: A;
	/** The users registered for `names`, in that order. */
	readonly users: TestUser[];
	/** The socket gateway's URL. */
	readonly socketUrl: string;
	/** A connected socket of `user`, closed when the block ends. */
	connect(user: TestUser): Promise<ClientSocket>;
}

/**
 * Registers the hooks of a describe block that shares one app: before its tests, `start` (a plain embedded
 * node unless given) and a user per name; after them, every socket `connect` opened is closed and the app
 * stopped. Hooks of the block registered after this call run with the app there.
 */
export function useTestApp<A extends TestApp = TestApp>(names: string[], start: () => Promise<A> = startTestApp as () => Promise<A>): AppFixture<A> {
	let app: A | undefined;
	let users: TestUser[] = [];
	const sockets: ClientSocket[] = [];
	const started = () => {
		if (!app) throw new Error("the app is not started yet: use the fixture inside hooks and tests");
		return app;
	};
	before(async () => {
		app = await start();
		users = await Promise.all(names.map(name => registerUser(started(), name)));
	});
	after(async () => {
		closeAll(...sockets);
		await app?.stop();
	});
	const fixture: AppFixture<A> = {
		...appActions(started),
		get app() {
			return started();
		},
		get users() {
			return users;
		},
		get socketUrl() {
			return socketUrl(started().broker);
		},
		async connect(user) {
			const socket = await connectSocket(fixture.socketUrl, user.accessToken);
			sockets.push(socket);
			return socket;
		}
	};
	return fixture;
}
