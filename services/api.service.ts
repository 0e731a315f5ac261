import { existsSync } from "node:fs";
import type { ServerResponse } from "node:http";
import path from "node:path";
import { Errors, type Context, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import serveStatic from "serve-static";
import { callerSigner } from "../lib/cluster-trust.ts";
import { chatConfig } from "../lib/config.ts";
import { unauthorized } from "../lib/errors.ts";
import { rateLimitKey } from "../lib/http.ts";
import { answerProbe, health, NOT_READY_RETRY_AFTER_SECONDS, probeOf, readiness } from "../lib/probes.ts";
import { RedisRateLimitStore } from "../lib/rate-limit-store.ts";
import type { SessionUser } from "../lib/session.ts";
import { DOWNLOAD_ALIASES, REST_ALIASES, STREAM_ALIASES } from "./api/aliases.ts";
import { jsonBody, passDownloadHeaders, prepareCall, sameOriginNeedsNoCors, sendError, setCacheHeaders, urlOf, type ApiThis, type Req } from "./api/hooks.ts";

/**
 * The HTTP gateway (moleculer-web): the REST routes of docs/API.md (api/aliases.ts), the probes /health and
 * /ready, and the built web app. `merged` builds the routes from configuration, with what runs around each
 * request (api/hooks.ts: parameter checks, the JSON body, error bodies); `authenticate` turns a bearer token
 * into the signed caller every action trusts.
 */
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
			// An action without an `auth` policy (signing in, refreshing, logging out) never reads the caller: a stale or
			// expired token sent along must not refuse it.
			if (!(req as Req & { $action?: { auth?: unknown } }).$action?.auth) return null;
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

export default ApiService;
