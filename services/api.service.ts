import { existsSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import serveStatic from "serve-static";
import { callerSigner } from "../lib/cluster-trust.ts";
import { chatConfig } from "../lib/config.ts";
import { MoleculerClientError, requestBodyError, toClientError, unauthorized, unsupportedMediaType } from "../lib/errors.ts";
import { clientAddress, rateLimitKey, sameOrigin } from "../lib/http.ts";
import { assertShallow, queryIntegers } from "../lib/params.ts";
import { answerProbe, health, NOT_READY_RETRY_AFTER_SECONDS, probeOf, readiness } from "../lib/probes.ts";
import { RedisRateLimitStore } from "../lib/rate-limit-store.ts";
import type { SessionUser } from "../lib/session.ts";
import type { DownloadHeaders } from "./assets/download.ts";

type Req = IncomingMessage & { $ctx?: Context; $route?: unknown; url: string };

interface ApiThis {
	server: import("node:http").Server;
	serve: ((req: Req, res: ServerResponse, next: (err?: unknown) => void) => void) | null;
	authenticate(ctx: Context, route: unknown, req: Req): Promise<SessionUser | null>;
	trustProxy: boolean;
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
	"PUT groups/:id/notifications": "groups.setNotifications",

	"POST messages": "messages.send",
	"GET messages/:groupId": "messages.history",
	"DELETE messages/:id": "messages.delete",
	"PATCH messages/:id": "messages.edit",
	"DELETE messages/:id/preview": "messages.removePreview",
	"GET messages/:id/history": "messages.editHistory",
	"PUT messages/:id/reactions/:emoji": "messages.addReaction",
	"DELETE messages/:id/reactions/:emoji": "messages.removeReaction",
	"GET messages/:id/receipts": "messages.receipts",
	"POST messages/:groupId/delivered": "messages.markDelivered",
	"POST messages/:groupId/seen": "messages.markSeen",
	"POST messages/:groupId/unread": "messages.markUnread",

	"GET search": "search.query",

	"GET presence": "presence.query",

	"GET push/key": "push.key",
	"POST push/subscriptions": "push.subscribe",
	"DELETE push/subscriptions/:id": "push.unsubscribe",

	"GET assets/limits": "assets.limits",
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

type RouteAlias = { action?: string; type?: string; keys?: { name: string }[] };

/**
 * Before every call: the payload's nesting is bounded (before anything recurses into it), and query and
 * path params the action declares as numbers become numbers when they are canonical integers (JSON bodies
 * never are converted). A multipart upload must say so with a boundary before busboy is given the body.
 */
function prepareCall(this: ApiThis, ctx: Context<unknown, { clientAddress?: string }>, _route: unknown, req: Req, _res: unknown, alias: RouteAlias) {
	const params = (req as Req & { $params?: Record<string, unknown> }).$params ?? {};
	assertShallow(params);
	const query = (req as Req & { query?: Record<string, unknown> }).query ?? {};
	const schema = (req as Req & { $action?: { params?: Record<string, unknown> } }).$action?.params;
	queryIntegers(params, [...Object.keys(query), ...(alias.keys ?? []).map(k => k.name)], schema);
	if (alias.type === "multipart" && !/^multipart\/form-data\s*;.*\bboundary=/i.test(req.headers["content-type"] ?? ""))
		throw unsupportedMediaType("Send the file as multipart/form-data with a boundary");
	// Login attempts are limited per account and address (auth.login).
	if (alias.action === "auth.login") ctx.meta.clientAddress = clientAddress(req, this.trustProxy);
}

/** Signed download URLs carry their credential in the query: logs show the URL without it. */
const SECRET_QUERY = /([?&](?:sig|token|access_token|refresh_token|refreshToken)=)[^&#]*/gi;
export const loggedUrl = (url: string) => url.replace(SECRET_QUERY, "$1[redacted]");
const urlOf = (req: Req) => loggedUrl((req as Req & { originalUrl?: string }).originalUrl ?? req.url ?? "");

function sendError(this: { logger: { error(...a: unknown[]): void } }, req: Req, res: ServerResponse, err: unknown) {
	const body = toClientError(err);
	// 503s (shed, timed out, no node) are counted where they happen, one log line per interval (lib/overload.ts).
	if (body.code >= 500 && body.code !== 503) this.logger.error("Request failed", req.method, urlOf(req), err);
	if (res.headersSent) return res.end();
	const retryAfterMs = (body.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
	if (typeof retryAfterMs === "number") res.setHeader("Retry-After", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
	else if (body.code === 429) res.setHeader("Retry-After", "60");
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

		/** Ready for traffic (lib/probes.ts). HTTP's /ready does not come through here: see httpHandler. */
		ready: {
			handler(this: any, ctx: Context<unknown, { $statusCode?: number; $responseHeaders?: Record<string, string> }>) {
				const state = readiness(this.broker);
				if (state.status !== "ready") {
					ctx.meta.$statusCode = 503;
					ctx.meta.$responseHeaders = { "Retry-After": String(NOT_READY_RETRY_AFTER_SECONDS) };
				}
				return state;
			}
		}
	},

	methods: {
		/** moleculer-web's logs the stack of every error without a numeric code (busboy's, zlib's): sendError decides. */
		errorHandler(this: any, req: Req, res: ServerResponse, err: unknown) {
			return this.sendError(req, res, err);
		},

		logRequest(this: any, req: Req & { $route?: { logging?: boolean } }) {
			if (req.$route && !req.$route.logging) return;
			this.logger.info(`=> ${req.method} ${urlOf(req)}`);
		},

		logResponse(this: any, req: Req & { $route?: { logging?: boolean }; $startTime?: [number, number] }, res: ServerResponse) {
			if (req.$route && !req.$route.logging) return;
			const [s, ns] = req.$startTime ? process.hrtime(req.$startTime) : [0, 0];
			this.logger.info(`<= ${res.statusCode} ${req.method} ${urlOf(req)} [+${(s * 1000 + ns / 1e6).toFixed(3)} ms]`);
		},

		/**
		 * The probes are answered before routing: the server listens while the node's other services (and
		 * this one's actions) are still starting, and /ready must say 503 then rather than fail to route.
		 */
		httpHandler(this: any, req: Req, res: ServerResponse, next?: (err?: unknown) => void) {
			const probe = probeOf(req);
			if (probe) return answerProbe(this.broker, probe, res);
			if (!this.broker.started) return sendError.call(this, req, res, new Errors.MoleculerRetryableError("The node is starting", 503, "NODE_STARTING"));
			return (ApiGateway.methods!.httpHandler as (...args: unknown[]) => unknown).call(this, req, res, next);
		},

		/** Bearer token → small user object that travels with every call; no token → anonymous (actions decide). */
		async authenticate(ctx: Context, _route: unknown, req: Req): Promise<SessionUser | null> {
			const header = req.headers.authorization;
			if (!header) return null;
			const token = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header)?.[1];
			if (!token) throw unauthorized("The Authorization header must be 'Bearer <access token>'", "INVALID_TOKEN");
			const user = await ctx.call<SessionUser & { exp: number }, { token: string }>("auth.resolveToken", { token });
			// Signed with the cluster secret, valid as long as the token: services trust no other meta.user.
			return callerSigner(this.broker).signUser(user, user.exp);
		}
	},

	/** Routes depend on configuration, and moleculer-web builds them in its own `created`: settle them first. */
	merged(this: any, schema: ServiceSchema) {
		const config = chatConfig(this.broker);
		const rest = {
			window: 60_000,
			limit: config.rateLimit.restPerMinute,
			headers: true,
			key: (req: Req) => rateLimitKey(req, config.http.trustProxy, config.jwt.secret),
			// Shared by every API node when Redis is there; otherwise each node counts for itself.
			...(config.redisUrl ? { StoreFactory: RedisRateLimitStore } : {})
		};
		this.trustProxy = config.http.trustProxy;
		const common = {
			authentication: true,
			mappingPolicy: "restrict",
			// The web app's own requests are same-origin: they need no CORS headers, whatever CORS_ORIGINS lists.
			use: [sameOriginNeedsNoCors],
			cors: {
				origin: config.http.corsOrigins,
				methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
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
					bodyParsers: false,
					use: [...common.use, jsonBody(config.http.bodyLimit)],
					onBeforeCall: prepareCall
				},
				{
					...common,
					name: "uploads",
					path: "/api",
					aliases: STREAM_ALIASES,
					bodyParsers: { json: false, urlencoded: false },
					onBeforeCall: prepareCall,
					// assets.upload enforces maxBytes itself and removes its partial file before answering 413. Busboy answers the
					// moment its own limit trips (file still on disk), so that limit sits well above: a backstop only.
					busboyConfig: { limits: { files: 1, fileSize: config.uploads.maxBytes + 1024 * 1024, fields: 10 } }
				},
				{ ...common, name: "downloads", authentication: false, path: "/api", aliases: DOWNLOAD_ALIASES, bodyParsers: false, onBeforeCall: passDownloadHeaders }
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

/**
 * body-parser's JSON parser, its errors turned into client errors where they happen: moleculer-web keeps a
 * middleware's error only by its `code`, and zlib's (a body that is not the gzip it claims) is a string.
 */
function jsonBody(limit: string) {
	const parse = ApiGateway.bodyParser.json({ limit, strict: true });
	return (req: Req, res: ServerResponse, next: (err?: unknown) => void) =>
		parse(req, res, (err?: unknown) => {
			const refused = err ? requestBodyError(err) : null;
			next(refused ? new MoleculerClientError(refused.message, refused.code, refused.type) : err);
		});
}

/** A browser's Origin that is this server itself (behind nginx: the Host it forwards) is no cross-origin request. */
function sameOriginNeedsNoCors(req: Req, _res: ServerResponse, next: () => void) {
	if (sameOrigin(req)) delete req.headers.origin;
	next();
}

/** Hashed build output is immutable; the page itself must always be revalidated. */
function setCacheHeaders(res: ServerResponse, file: string) {
	if (file.includes(`${path.sep}_app${path.sep}immutable${path.sep}`)) res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
	else if (file.endsWith(".html")) res.setHeader("Cache-Control", "no-cache");
}

export default ApiService;
