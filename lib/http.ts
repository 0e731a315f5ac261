import { createSecretKey, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import jwt from "jsonwebtoken";

/** The client's address: nginx's X-Real-IP when we sit behind our own proxy, else the socket's peer. */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
	if (trustProxy) {
		const real = req.headers["x-real-ip"];
		if (typeof real === "string" && real) return real;
		const forwarded = req.headers["x-forwarded-for"];
		if (typeof forwarded === "string" && forwarded) return forwarded.split(",")[0].trim();
	}
	return req.socket?.remoteAddress ?? "unknown";
}

/**
 * Signed-in requests are limited per user, the rest per address. The request is counted before
 * authentication, so only a token whose signature checks out may choose a user's bucket: otherwise
 * anyone could spend a victim's budget by naming their id, or dodge the address limit with a made-up
 * id per request. (HS256 is one HMAC, cheap enough to do twice per request.)
 */
export function rateLimitKey(req: IncomingMessage, trustProxy: boolean, jwtSecret: string): string {
	const userId = verifiedUserId(req.headers.authorization, jwtSecret);
	return userId ? `user:${userId}` : `ip:${clientAddress(req, trustProxy)}`;
}

/** Given a string, jsonwebtoken first tries it as a PEM public key and throws on every verify: one KeyObject per secret. */
const keys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
	let key = keys.get(secret);
	if (!key) keys.set(secret, (key = createSecretKey(Buffer.from(secret, "utf8"))));
	return key;
}

function verifiedUserId(header: string | undefined, secret: string): string | null {
	const token = header && /^Bearer\s+(\S{1,4096})\s*$/i.exec(header)?.[1];
	if (!token) return null;
	try {
		const claims = jwt.verify(token, keyOf(secret), { algorithms: ["HS256"] }) as jwt.JwtPayload;
		return claims.typ === "access" && typeof claims.sub === "string" ? claims.sub : null;
	} catch {
		return null;
	}
}

/** A request whose Origin names the host it was sent to: the page came from this server (or our proxy in front). */
export function sameOrigin(req: Pick<IncomingMessage, "headers">): boolean {
	const origin = req.headers.origin;
	return typeof origin === "string" && URL.canParse(origin) && new URL(origin).host === req.headers.host;
}
