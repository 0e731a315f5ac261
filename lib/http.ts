import type { IncomingMessage } from "node:http";

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
 * Logged-in requests are limited per user, the rest per address. The token is only decoded here
 * (to pick the bucket); authentication verifies it right after.
 */
export function rateLimitKey(req: IncomingMessage, trustProxy: boolean): string {
	const header = req.headers.authorization;
	if (header?.startsWith("Bearer ")) {
		const payload = header.slice(7).split(".")[1];
		if (payload) {
			try {
				const sub = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).sub;
				if (typeof sub === "string" && /^[a-f0-9]{24}$/.test(sub)) return `user:${sub}`;
			} catch {
				// not a JWT: fall through to the address
			}
		}
	}
	return `ip:${clientAddress(req, trustProxy)}`;
}
