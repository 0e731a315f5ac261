import type { PushConfig } from "../../lib/config.ts";

/**
 * One device of a user: where its browser's push service takes pushes for it, and the keys to encrypt them (RFC 8291).
 * It lives as long as the sign-in that registered it last: `sessionId` (null when registered without one: a
 * token from before tokens named their sign-in) and `registeredAt` (absent on documents from before: `createdAt`).
 */
export interface SubscriptionDoc {
	_id: string;
	userId: string;
	endpoint: string;
	keys: { p256dh: string; auth: string };
	createdAt: Date;
	sessionId?: string | null;
	registeredAt?: Date;
}

/** When the subscription was registered last (created, or registered again), in ms. */
export function registeredAtOf(doc: Pick<SubscriptionDoc, "createdAt" | "registeredAt">): number {
	return new Date(doc.registeredAt ?? doc.createdAt).getTime();
}

/**
 * The subscriptions beyond the newest MAX_SUBSCRIPTIONS_PER_USER of one user's (newest registration first), `keepId`
 * (the one just registered) counted first whatever the clocks say.
 */
export function beyondCap<T extends Pick<SubscriptionDoc, "_id" | "createdAt" | "registeredAt">>(mine: T[], keepId: string): T[] {
	const order = (doc: T) => (doc._id === keepId ? Infinity : registeredAtOf(doc));
	return [...mine].sort((a, b) => order(b) - order(a)).slice(MAX_SUBSCRIPTIONS_PER_USER);
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
