import type { PushConfig } from "../../lib/config.ts";

/** One device of a user: where its browser's push service takes pushes for it, and the keys to encrypt them (RFC 8291). */
export interface SubscriptionDoc {
	_id: string;
	userId: string;
	endpoint: string;
	keys: { p256dh: string; auth: string };
	createdAt: Date;
}

/** A user's devices beyond this many: the oldest subscription makes room (a browser reinstalled many times). */
export const MAX_SUBSCRIPTIONS_PER_USER = 20;

const DEFAULT_PORT = { "https:": "443", "http:": "80" } as Record<string, string>;

/**
 * Why this endpoint is refused, or null. Endpoints come from clients and the server will POST to them, so
 * they must be https URLs of a known push service (config `endpointHosts`, subdomains included) on the
 * default port, without credentials: a subscription cannot make the server reach anything else (see
 * README, Security). `testEndpoints` names origins allowed besides, for a stand-in push service in tests.
 */
export function endpointProblem(endpoint: string, rules: Pick<PushConfig, "endpointHosts" | "testEndpoints">): string | null {
	let url: URL;
	try {
		url = new URL(endpoint);
	} catch {
		return "The 'endpoint' field must be a URL.";
	}
	if (rules.testEndpoints.includes(url.origin)) return null;
	if (url.protocol !== "https:") return "The 'endpoint' field must be an https URL.";
	if (url.username || url.password || (url.port && url.port !== DEFAULT_PORT[url.protocol]))
		return "The 'endpoint' field must be an https URL on the default port, without credentials.";
	const host = url.hostname.toLowerCase();
	if (!rules.endpointHosts.some(allowed => host === allowed || host.endsWith(`.${allowed}`)))
		return "The 'endpoint' field must be the URL of a browser's push service.";
	return null;
}

/** Why these keys cannot encrypt a push, or null: `p256dh` an uncompressed P-256 point, `auth` 16 bytes (both base64url). */
export function keysProblem(keys: { p256dh: string; auth: string }): string | null {
	const b64url = /^[A-Za-z0-9_-]+={0,2}$/;
	const point = b64url.test(keys.p256dh) ? Buffer.from(keys.p256dh, "base64url") : Buffer.alloc(0);
	if (point.length !== 65 || point[0] !== 4) return "The 'keys.p256dh' field must be a P-256 public key in base64url.";
	const auth = b64url.test(keys.auth) ? Buffer.from(keys.auth, "base64url") : Buffer.alloc(0);
	if (auth.length !== 16) return "The 'keys.auth' field must be 16 bytes in base64url.";
	return null;
}
