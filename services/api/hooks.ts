import { isUtf8 } from "node:buffer";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { Context } from "moleculer";
import ApiGateway from "moleculer-web";
import { MoleculerClientError, requestBodyError, toClientError, unsupportedMediaType } from "../../lib/errors.ts";
import { clientAddress, sameOrigin } from "../../lib/http.ts";
import { assertShallow, queryIntegers } from "../../lib/params.ts";
import type { SessionUser } from "../../lib/session.ts";
import type { DownloadHeaders } from "../assets/download.ts";

/** What the gateway (services/api.service.ts) does around each request: before the call, on a body, on an error, on a static file. */

export type Req = IncomingMessage & { $ctx?: Context; $route?: unknown; url: string };

export interface ApiThis {
	server: import("node:http").Server;
	serve: ((req: Req, res: ServerResponse, next: (err?: unknown) => void) => void) | null;
	authenticate(ctx: Context, route: unknown, req: Req): Promise<SessionUser | null>;
	trustProxy: boolean;
}

/** Range and conditional requests are answered by assets.download, which never sees the HTTP request itself. */
export function passDownloadHeaders(ctx: Context<unknown, { downloadHeaders?: DownloadHeaders }>, _route: unknown, req: Req) {
	const header = (name: string) => (typeof req.headers[name] === "string" ? (req.headers[name] as string) : undefined);
	ctx.meta.downloadHeaders = { range: header("range"), ifNoneMatch: header("if-none-match"), ifRange: header("if-range") };
}

type RouteAlias = { action?: string; type?: string; keys?: { name: string }[] };

/**
 * Before every call: the payload's nesting is bounded (before anything recurses into it), and query and
 * path params the action declares as numbers become numbers when they are canonical integers (JSON bodies
 * never are converted). A multipart upload must say so with a boundary before busboy is given the body.
 */
export function prepareCall(this: ApiThis, ctx: Context<unknown, { clientAddress?: string }>, _route: unknown, req: Req, _res: unknown, alias: RouteAlias) {
	const params = (req as Req & { $params?: Record<string, unknown> }).$params ?? {};
	assertShallow(params);
	const query = (req as Req & { query?: Record<string, unknown> }).query ?? {};
	const action = (req as Req & { $action?: { params?: Record<string, unknown>; clientAddress?: boolean } }).$action;
	queryIntegers(params, [...Object.keys(query), ...(alias.keys ?? []).map(k => k.name)], action?.params);
	if (alias.type === "multipart" && !/^multipart\/form-data\s*;.*\bboundary=/i.test(req.headers["content-type"] ?? ""))
		throw unsupportedMediaType("Send the file as multipart/form-data with a boundary");
	if (action?.clientAddress) ctx.meta.clientAddress = clientAddress(req, this.trustProxy);
}

/** Signed download URLs carry their credential in the query: logs show the URL without it. */
const SECRET_QUERY = /([?&](?:sig|token|access_token|refresh_token|refreshToken)=)[^&#]*/gi;
export const loggedUrl = (url: string) => url.replace(SECRET_QUERY, "$1[redacted]");
export const urlOf = (req: Req) => loggedUrl((req as Req & { originalUrl?: string }).originalUrl ?? req.url ?? "");

export function sendError(this: { logger: { error(...a: unknown[]): void } }, req: Req, res: ServerResponse, err: unknown) {
	const body = toClientError(err);
	// 503s (shed, timed out, no node) are counted where they happen, one log line per interval (lib/overload.ts).
	if (body.code >= 500 && body.code !== 503) this.logger.error("Request failed", req.method, urlOf(req), err);
	if (res.headersSent) return res.end();
	// moleculer-web's per-minute limit throws without data: its window's end is in the header it set.
	if (body.code === 429 && body.data === undefined) body.data = { retryAfterMs: untilWindowEnds(res) };
	const retryAfterMs = (body.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
	if (typeof retryAfterMs === "number") res.setHeader("Retry-After", String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
	res.writeHead(body.code, { "Content-Type": "application/json; charset=utf-8" });
	res.end(JSON.stringify(body));
}

function untilWindowEnds(res: ServerResponse): number {
	const reset = Number(res.getHeader("X-Rate-Limit-Reset"));
	return Number.isFinite(reset) && reset > 0 ? Math.min(60_000, Math.max(0, reset - Date.now())) : 60_000;
}

/**
 * body-parser's JSON parser, its errors turned into client errors where they happen: moleculer-web keeps a
 * middleware's error only by its `code`, and zlib's (a body that is not the gzip it claims) is a string.
 */
export function jsonBody(limit: string) {
	const parse = ApiGateway.bodyParser.json({ limit, strict: true, verify: refuseInvalidUtf8 });
	return (req: Req, res: ServerResponse, next: (err?: unknown) => void) =>
		parse(req, res, (err?: unknown) => {
			const refused = err ? requestBodyError(err) : null;
			next(refused ? new MoleculerClientError(refused.message, refused.code, refused.type) : err);
		});
}

/** A UTF-8 decoder would store U+FFFD for a malformed byte: such a body is refused instead. */
function refuseInvalidUtf8(_req: unknown, _res: unknown, body: Buffer): void {
	if (!isUtf8(body)) throw Object.assign(new Error("The request body is not valid UTF-8"), { status: 400, type: "entity.invalid.utf8" });
}

/** A browser's Origin that is this server itself (behind nginx: the Host it forwards) is no cross-origin request. */
export function sameOriginNeedsNoCors(req: Req, _res: ServerResponse, next: () => void) {
	if (sameOrigin(req)) delete req.headers.origin;
	next();
}

/** Hashed build output is immutable; the page itself must always be revalidated. */
export function setCacheHeaders(res: ServerResponse, file: string) {
	if (file.includes(`${path.sep}_app${path.sep}immutable${path.sep}`)) res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
	else if (file.endsWith(".html")) res.setHeader("Cache-Control", "no-cache");
}
