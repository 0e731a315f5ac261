import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { chatConfig, type ChatConfig } from "./config.ts";
import type { SessionUser } from "./session.ts";

/**
 * What the cluster secret vouches for beyond the sealed transport (defence in depth): the caller a
 * gateway resolved (`ctx.meta.user`) and the operator a REPL node speaks for (`ctx.meta.operator`).
 * Each purpose has its own key derived from CLUSTER_SECRET, so a signature made for one never passes as another.
 */

export type ClusterKeyPurpose = "transport" | "user" | "operator";

/** HKDF-SHA256 of the cluster secret, with the namespace as context: two clusters sharing a secret still do not trust each other. */
export function clusterKey(secret: string, namespace: string, purpose: ClusterKeyPurpose): Buffer {
	return Buffer.from(hkdfSync("sha256", secret, "scalable-chat cluster", `${purpose}\n${namespace}`, 32));
}

/** A gateway's caller, signed: valid until `exp` (seconds since the epoch, like a JWT's). */
export interface SignedUser extends SessionUser {
	exp: number;
	sig: string;
}

/** A REPL node's standing as operator, signed, for a short while. */
export interface OperatorPass {
	node: string;
	exp: number;
	sig: string;
}

export type UserCheck = { ok: true; user: SessionUser } | { ok: false; reason: "missing" | "forged" | "expired" };

/** How long an operator pass and an inbound bot's signature live. */
export const OPERATOR_PASS_SECONDS = 60;
export const BOT_SIGNATURE_SECONDS = 5 * 60;

const nowSeconds = () => Date.now() / 1000;

/** Checked caller signatures remembered (about one per connected user). */
const VERIFIED_CACHE = 50_000;

export class CallerSigner {
	private readonly userKey: Buffer;
	private readonly operatorKey: Buffer;
	/** Signatures already checked, with the fields they signed. */
	private readonly verified = new Map<string, { id: string; username: string; exp: number; sessionId?: string }>();

	constructor(secret: string, namespace: string) {
		this.userKey = clusterKey(secret, namespace, "user");
		this.operatorKey = clusterKey(secret, namespace, "operator");
	}

	/** The sign-in (`sessionId`), when the caller has one, is signed too: push binds a device to it. */
	signUser(user: SessionUser, exp: number): SignedUser {
		const { id, username, sessionId } = user;
		const session = typeof sessionId === "string" ? { sessionId } : {};
		return { id, username, ...session, exp, sig: this.mac(this.userKey, userFields(id, username, exp, session.sessionId)) };
	}

	/** The caller in `meta.user`, when its signature is this cluster's and has not expired. */
	verifyUser(value: unknown, now = nowSeconds()): UserCheck {
		if (value == null) return { ok: false, reason: "missing" };
		const { id, username, sessionId, exp, sig } = value as Partial<SignedUser>;
		if (typeof id !== "string" || typeof username !== "string" || typeof exp !== "number" || typeof sig !== "string") return { ok: false, reason: "forged" };
		if (sessionId !== undefined && typeof sessionId !== "string") return { ok: false, reason: "forged" };
		const known = this.verified.get(sig);
		if (!known || known.id !== id || known.username !== username || known.exp !== exp || known.sessionId !== sessionId) {
			if (!this.matches(sig, this.mac(this.userKey, userFields(id, username, exp, sessionId)))) return { ok: false, reason: "forged" };
			// Every action of a request checks the same caller again: an HMAC per call was 1.5% of a send.
			if (this.verified.size >= VERIFIED_CACHE) this.verified.delete(this.verified.keys().next().value!);
			this.verified.set(sig, { id, username, exp, sessionId });
		}
		if (!(exp > now)) return { ok: false, reason: "expired" };
		return { ok: true, user: sessionId === undefined ? { id, username } : { id, username, sessionId } };
	}

	signOperator(node: string, now = nowSeconds()): OperatorPass {
		const exp = Math.floor(now) + OPERATOR_PASS_SECONDS;
		return { node, exp, sig: this.mac(this.operatorKey, ["operator", node, exp]) };
	}

	verifyOperator(value: unknown, now = nowSeconds()): boolean {
		if (value == null) return false;
		const { node, exp, sig } = value as Partial<OperatorPass>;
		if (typeof node !== "string" || typeof exp !== "number" || typeof sig !== "string") return false;
		return this.matches(sig, this.mac(this.operatorKey, ["operator", node, exp])) && exp > now;
	}

	/** JSON of the fields: unambiguous whatever characters they hold. */
	private mac(key: Buffer, fields: (string | number)[]): string {
		return createHmac("sha256", key).update(JSON.stringify(fields)).digest("base64url");
	}

	private matches(given: string, expected: string): boolean {
		const a = Buffer.from(given);
		const b = Buffer.from(expected);
		return a.length === b.length && timingSafeEqual(a, b);
	}
}

/** What a caller's signature covers: without a sign-in, the same fields as before there was one (no signature changes meaning). */
function userFields(id: string, username: string, exp: number, sessionId: string | undefined): (string | number)[] {
	return sessionId === undefined ? [id, username, exp] : [id, username, exp, sessionId];
}

const signers = new WeakMap<ChatConfig, CallerSigner>();

/** The signer of a broker's cluster (its ChatConfig's secret and namespace), made once. */
export function callerSigner(broker: ServiceBroker): CallerSigner {
	const config = chatConfig(broker);
	let signer = signers.get(config);
	if (!signer) {
		signer = new CallerSigner(config.clusterSecret, config.namespace);
		signers.set(config, signer);
	}
	return signer;
}

/** Call options of an operator: `opts` with a fresh operator pass of this node in its meta. */
export function withOperatorPass<T extends { meta?: object }>(broker: ServiceBroker, opts?: T): T & { meta: { operator: OperatorPass } } {
	return { ...(opts as T), meta: { ...opts?.meta, operator: callerSigner(broker).signOperator(broker.nodeID) } };
}
