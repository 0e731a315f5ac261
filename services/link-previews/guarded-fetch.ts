import { lookup as dnsLookup } from "node:dns/promises";
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import { classifyAddress } from "./addresses.ts";

/**
 * Fetches a URL that a message's author chose, on the server's network: the trust boundary of link
 * previews. The host is resolved here and every address it has must be public (addresses.ts); the
 * connection then goes to the address that was checked (the socket's lookup is pinned to it, so a second
 * DNS answer cannot move it to 127.0.0.1). Redirects are followed by hand, each target checked the same
 * way. One deadline covers resolving, connecting, redirects and the body; the body is cut off past the
 * size limit (after decompression); only the expected content types are read.
 */

export type FetchRefusal =
	"url" | "scheme" | "credentials" | "port" | "address" | "unresolved" | "redirects" | "status" | "type" | "too-large" | "timeout" | "network";

export class FetchRefused extends Error {
	readonly reason: FetchRefusal;
	constructor(reason: FetchRefusal, message: string) {
		super(message);
		this.reason = reason;
	}
}

export interface ResolvedAddress {
	address: string;
	family: number;
}

export interface FetchRules {
	/** `host:port` pairs let through without the address and port checks (LINK_PREVIEW_ALLOW_HOSTS: tests, development). */
	allowHosts: ReadonlySet<string>;
	maxRedirects: number;
	/** For everything together: resolving, connecting, every redirect and the body. */
	timeoutMs: number;
	maxBytes: number;
	/** Past maxBytes keep the first maxBytes (a page's head is at its start) instead of refusing the body. */
	truncate?: boolean;
	/** Lower-case MIME types (without parameters) that may be read. */
	accept: ReadonlySet<string>;
	userAgent: string;
	/** Resolves a host name to all its addresses (dns.lookup by default). */
	resolve?: (host: string) => Promise<ResolvedAddress[]>;
}

export interface Fetched {
	/** After redirects. */
	url: string;
	mimeType: string;
	charset: string | null;
	body: Buffer;
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const resolveAll = async (host: string): Promise<ResolvedAddress[]> => dnsLookup(host, { all: true, verbatim: true });

/** The address to connect to for `url`, checked; refuses what may not be fetched at all. */
export async function checkedTarget(url: URL, rules: FetchRules): Promise<ResolvedAddress> {
	const port = url.port ? Number(url.port) : DEFAULT_PORTS[url.protocol];
	if (!(url.protocol in DEFAULT_PORTS)) throw new FetchRefused("scheme", `${url.protocol} links are not fetched`);
	if (url.username || url.password) throw new FetchRefused("credentials", "Links with credentials are not fetched");
	const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
	const allowed = rules.allowHosts.has(`${host}:${port}`);
	let addresses: ResolvedAddress[];
	if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
	else {
		try {
			addresses = await (rules.resolve ?? resolveAll)(host);
		} catch {
			throw new FetchRefused("unresolved", `${host} does not resolve`);
		}
	}
	if (addresses.length === 0) throw new FetchRefused("unresolved", `${host} does not resolve`);
	if (!allowed) {
		for (const { address } of addresses) {
			const verdict = classifyAddress(address);
			// Every address must be public: which one a client would pick is not ours to guess.
			if (!verdict.ok) throw new FetchRefused("address", `${host} resolves to a ${verdict.reason} address`);
		}
	}
	if (!allowed && port !== 80 && port !== 443) throw new FetchRefused("port", `Port ${port} is not fetched`);
	return addresses[0];
}

/** A lookup that always answers the address already checked: the connection cannot go anywhere else. */
function pinnedLookup(target: ResolvedAddress): LookupFunction {
	return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
		if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
		else callback(null, target.address, target.family);
	}) as LookupFunction;
}

function request(url: URL, target: ResolvedAddress, rules: FetchRules, signal: AbortSignal): Promise<IncomingMessage> {
	const client = url.protocol === "https:" ? https : http;
	return new Promise((resolve, reject) => {
		const req = client.request(url, {
			method: "GET",
			lookup: pinnedLookup(target),
			signal,
			headers: {
				"user-agent": rules.userAgent,
				accept: [...rules.accept].join(", ") + ";q=1.0, */*;q=0.1",
				"accept-encoding": "gzip, deflate, br",
				"accept-language": "en;q=0.9, *;q=0.5"
			}
		});
		req.once("response", resolve);
		req.once("error", reject);
		req.end();
	});
}

function decoded(res: IncomingMessage): Readable {
	const encoding = String(res.headers["content-encoding"] ?? "identity").toLowerCase();
	if (encoding === "gzip" || encoding === "x-gzip") return res.pipe(zlib.createGunzip());
	if (encoding === "deflate") return res.pipe(zlib.createInflate());
	if (encoding === "br") return res.pipe(zlib.createBrotliDecompress());
	return res;
}

async function readBody(res: IncomingMessage, maxBytes: number, truncate = false): Promise<Buffer> {
	const declared = Number(res.headers["content-length"]);
	if (!truncate && Number.isFinite(declared) && declared > maxBytes) {
		res.destroy();
		throw new FetchRefused("too-large", `The body is larger than ${maxBytes} bytes`);
	}
	const chunks: Buffer[] = [];
	let size = 0;
	const body = decoded(res);
	try {
		for await (const chunk of body as AsyncIterable<Buffer>) {
			size += chunk.length;
			if (size > maxBytes && truncate) {
				chunks.push(chunk.subarray(0, chunk.length - (size - maxBytes)));
				break;
			}
			if (size > maxBytes) throw new FetchRefused("too-large", `The body is larger than ${maxBytes} bytes`);
			chunks.push(chunk);
		}
	} finally {
		if (size > maxBytes || !res.complete) res.destroy();
	}
	return Buffer.concat(chunks);
}

function contentType(res: IncomingMessage): { mimeType: string; charset: string | null } {
	const header = String(res.headers["content-type"] ?? "");
	const [type, ...parameters] = header.split(";");
	const charset = parameters.map(p => /^\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(p)?.[1]).find(Boolean) ?? null;
	return { mimeType: type.trim().toLowerCase(), charset };
}

/** GET `link` under the rules; a FetchRefused says why not. */
export async function guardedFetch(link: string, rules: FetchRules): Promise<Fetched> {
	const deadline = new AbortController();
	const timer = setTimeout(() => deadline.abort(), rules.timeoutMs);
	const timedOut = new Promise<never>((_, reject) =>
		deadline.signal.addEventListener("abort", () => reject(new FetchRefused("timeout", `No answer within ${rules.timeoutMs} ms`)), { once: true })
	);
	timedOut.catch(() => {});
	try {
		return await Promise.race([follow(link, rules, deadline.signal), timedOut]);
	} catch (err) {
		if (err instanceof FetchRefused) throw err;
		if (deadline.signal.aborted) throw new FetchRefused("timeout", `No answer within ${rules.timeoutMs} ms`);
		throw new FetchRefused("network", (err as Error).message);
	} finally {
		clearTimeout(timer);
		deadline.abort();
	}
}

async function follow(link: string, rules: FetchRules, signal: AbortSignal): Promise<Fetched> {
	if (!URL.canParse(link)) throw new FetchRefused("url", "Not a URL");
	let url = new URL(link);
	for (let redirects = 0; ; redirects++) {
		const target = await checkedTarget(url, rules);
		signal.throwIfAborted();
		const res = await request(url, target, rules, signal);
		const status = res.statusCode ?? 0;
		if (REDIRECTS.has(status) && res.headers.location) {
			res.resume();
			if (redirects >= rules.maxRedirects) throw new FetchRefused("redirects", `More than ${rules.maxRedirects} redirects`);
			if (!URL.canParse(res.headers.location, url.href)) throw new FetchRefused("url", "The redirect's target is not a URL");
			url = new URL(res.headers.location, url);
			continue;
		}
		if (status < 200 || status > 299) {
			res.resume();
			throw new FetchRefused("status", `The server answered ${status}`);
		}
		const { mimeType, charset } = contentType(res);
		if (!rules.accept.has(mimeType)) {
			res.destroy();
			throw new FetchRefused("type", `${mimeType || "No content type"} is not read`);
		}
		return { url: url.href, mimeType, charset, body: await readBody(res, rules.maxBytes, rules.truncate) };
	}
}
