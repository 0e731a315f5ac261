import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { Context, ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import serveStatic from "serve-static";
import { chatConfig } from "../lib/config.ts";
import { toClientError, unauthorized } from "../lib/errors.ts";
import { rateLimitKey } from "../lib/http.ts";
import { health, readiness } from "../lib/probes.ts";
import { RedisRateLimitStore } from "../lib/rate-limit-store.ts";
import type { SessionUser } from "../lib/session.ts";
import type { DownloadHeaders } from "./assets/download.ts";

type Req = IncomingMessage & { $ctx?: Context; $route?: unknown; url: string };

interface ApiThis {
	server: import("node:http").Server;
	serve: ((req: Req, res: ServerResponse, next: (err?: unknown) => void) => void) | null;
	authenticate(ctx: Context, route: unknown, req: Req): Promise<SessionUser | null>;
}

/** REST routes: the contract in docs/API.md. Everything else under /api is a 404. */
const REST_ALIASES = {
	"POST auth/register": "auth.register",
	"POST auth/login": "auth.login",
	"POST auth/refresh": "auth.refresh",
	"POST auth/logout": "auth.logout",

	"GET users": "users.list",
	"GET users/profile": "users.profile",
	"PUT users/profile": "users.updateProfile",
	"GET users/:id": "users.get",

	"POST groups": "groups.create",
	"GET groups": "groups.list",
	"GET groups/:id": "groups.get",
	"PUT groups/:id": "groups.update",
	"POST groups/:id/members": "groups.addMembers",
	"DELETE groups/:id/members/:userId": "groups.removeMember",
	"PUT groups/:id/members/:userId": "groups.setRole",

	"POST messages": "messages.send",
	"GET messages/:groupId": "messages.history",
	"DELETE messages/:id": "messages.delete",
	"GET messages/:groupId/receipts": "messages.receipts",
	"POST messages/:groupId/delivered": "messages.markDelivered",
	"POST messages/:groupId/seen": "messages.markSeen",

	"GET presence": "presence.query",

	"POST assets/uploads": "assets.createUpload",
	"GET assets/uploads/:uploadId": "assets.uploadStatus",
	"POST assets/uploads/:uploadId/complete": "assets.completeUpload",
	"GET assets/:id": "assets.get"
};

/** Routes whose body is a file stream rather than JSON. */
const STREAM_ALIASES = {
	"POST assets/upload": "multipart:assets.upload",
	"PUT assets/uploads/:uploadId/chunks/:index": "stream:assets.putChunk"
};

/** Signed-URL downloads: the signature is the credential, so no token is needed (img src, a href). */
const DOWNLOAD_ALIASES = {
	"GET assets/:id/:variant": "assets.download"
};

/** Range and conditional requests are answered by assets.download, which never sees the HTTP request itself. */
function passDownloadHeaders(ctx: Context<unknown, { downloadHeaders?: DownloadHeaders }>, _route: unknown, req: Req) {
	const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : undefined);
	ctx.meta.downloadHeaders = { range: header("range"), ifNoneMatch: header("if-none-match"), ifRange: header("if-range") };
}

function sendError(this: { logger: { error(...a: unknown[]): void } }, req: Req, res: ServerResponse, err: unknown) {
	const body = toClientError(err);
	if (body.code >= 500) this.logger.error("Request failed", req.method, req.url, err);
	if (res.headersSent) return res.end();
	if (body.code === 429) res.setHeader("Retry-After", "60");
	res.writeHead(body.code, { "Content-Type": "application/json; charset=utf-8" });
	res.end(JSON.stringify(body));
}

const ApiService: ServiceSchema<Record<string, unknown>, {}, ApiThis> & { merged(schema: ServiceSchema): void } = {
	name: "api",
	mixins: [ApiGateway],

	settings: {},

	actions: {
		health: {
			handler(this: any) {
				return health(this.broker);
			}
		},

		/** Ready for traffic: connected to the cluster (when clustered) and to the store. */
		ready: {
			handler(this: any, ctx: Context<unknown, { $statusCode?: number }>) {
				const state = readiness(this.broker);
				if (state.status !== "ready") ctx.meta.$statusCode = 503;
				return state;
			}
		}
	},

	methods: {
		/** Bearer token → small user object that travels with every call; no token → anonymous (actions decide). */
		async authenticate(ctx: Context, _route: unknown, req: Req): Promise<SessionUser | null> {
			const header = req.headers.authorization;
			if (!header) return null;
			const token = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header)?.[1];
			if (!token) throw unauthorized("The Authorization header must be 'Bearer <access token>'", "INVALID_TOKEN");
			const user = await ctx.call<SessionUser & { exp: number }, { token: string }>("auth.resolveToken", { token });
			return { id: user.id, username: user.username };
		}
	},

	/** Routes depend on configuration, and moleculer-web builds them in its own `created`: settle them first. */
	merged(this: any, schema: ServiceSchema) {
		const config = chatConfig(this.broker);
		const rest = {
			window: 60_000,
			limit: config.rateLimit.restPerMinute,
			headers: true,
			key: (req: Req) => rateLimitKey(req, config.http.trustProxy),
			// Shared by every API node when Redis is there; otherwise each node counts for itself.
			...(config.redisUrl ? { StoreFactory: RedisRateLimitStore } : {})
		};
		const common = {
			authentication: true,
			mappingPolicy: "restrict",
			cors: {
				origin: config.http.corsOrigins,
				methods: ["GET", "POST", "PUT", "DELETE", "OPTIONS"],
				allowedHeaders: ["Authorization", "Content-Type", "Range"],
				exposedHeaders: ["Content-Range", "Accept-Ranges", "Content-Length", "X-Rate-Limit-Remaining", "Retry-After"],
				maxAge: 3600
			},
			rateLimit: rest,
			callOptions: { timeout: 30_000 },
			onError: sendError,
			logging: config.env !== "test"
		};
		schema.settings = Object.assign(schema.settings ?? {}, {
			port: config.port,
			ip: config.host,
			path: "",
			log4XXResponses: false,
			logRequestParams: null,
			logResponseData: null,
			onError: sendError,
			routes: [
				{
					...common,
					name: "rest",
					path: "/api",
					aliases: REST_ALIASES,
					bodyParsers: { json: { limit: config.http.bodyLimit, strict: true }, urlencoded: false }
				},
				{
					...common,
					name: "uploads",
					path: "/api",
					aliases: STREAM_ALIASES,
					bodyParsers: { json: false, urlencoded: false },
					// assets.upload enforces maxBytes itself and removes its partial file before answering 413. Busboy answers the
					// moment its own limit trips (file still on disk), so that limit sits well above: a backstop only.
					busboyConfig: { limits: { files: 1, fileSize: config.uploads.maxBytes + 1024 * 1024, fields: 10 } }
				},
				{ ...common, name: "downloads", authentication: false, path: "/api", aliases: DOWNLOAD_ALIASES, bodyParsers: false, onBeforeCall: passDownloadHeaders },
				{
					name: "probes",
					path: "/",
					mappingPolicy: "restrict",
					aliases: { "GET health": "api.health", "GET ready": "api.ready" },
					bodyParsers: false,
					onError: sendError
				}
			]
		});
	},

	created() {
		const config = chatConfig(this.broker);
		// The built web app, with deep links falling back to index.html (a single-page app).
		const webDir = config.webDir;
		const index = path.join(webDir, "index.html");
		if (existsSync(index)) {
			const files = serveStatic(webDir, { index: ["index.html"], maxAge: "1h", setHeaders: setCacheHeaders });
			const app = serveStatic(webDir, { index: false, maxAge: 0 });
			this.serve = (req, res, next) =>
				files(req as never, res as never, () => {
					// moleculer-web rewrites req.url relative to the route it tried; the original tells what was asked.
					const url = (req as Req & { originalUrl?: string }).originalUrl ?? req.url ?? "/";
					if (req.method !== "GET" || url.startsWith("/api/") || url.startsWith("/socket.io")) return next();
					req.url = "/index.html";
					app(req as never, res as never, next);
				});
		}
	}
};

/** Hashed build output is immutable; the page itself must always be revalidated. */
function setCacheHeaders(res: ServerResponse, file: string) {
	if (file.includes(`${path.sep}_app${path.sep}immutable${path.sep}`)) res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
	else if (file.endsWith(".html")) res.setHeader("Cache-Control", "no-cache");
}

export default ApiService;
