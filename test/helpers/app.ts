import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { testConfig, type ChatConfig } from "../../lib/config.ts";
import { startNode } from "../../app/node.ts";

export interface TestApp {
	broker: ServiceBroker;
	config: ChatConfig;
	/** http://127.0.0.1:PORT of the API gateway (when this node runs it). */
	url: string;
	stop(): Promise<void>;
}

/** A fresh temporary DATA_DIR, removed by the returned cleanup. */
export function tempDataDir(): { dir: string; remove(): void } {
	const dir = mkdtempSync(path.join(tmpdir(), "chat-test-"));
	return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts a real node (embedded: every service, in-memory NeDB) on a free port. Set MONGODB_URI to
 * run the same tests against MongoDB; each app then gets its own database.
 */
export async function startTestApp(overrides: Partial<ChatConfig> = {}): Promise<TestApp> {
	const mongo = process.env.MONGODB_URI;
	const storage: ChatConfig["storage"] = mongo
		? { kind: "mongo", uri: mongo.replace(/\/([^/?]*)(\?|$)/, `/chat_test_${process.pid}_${Date.now()}$2`) }
		: { kind: "memory" };
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
