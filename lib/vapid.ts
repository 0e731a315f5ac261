import { createECDH } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** The application server's identity towards the browsers' push services (RFC 8292), keys as base64url. */
export interface VapidKeys {
	publicKey: string;
	privateKey: string;
	/** A `mailto:` or `https:` URL the push service may use to reach the operator. */
	subject: string;
}

const DEVELOPMENT_SUBJECT = "mailto:admin@localhost";

/** A fresh P-256 key pair: the public key uncompressed (65 bytes), the private key its 32 bytes. */
export function generateVapidKeys(): Pick<VapidKeys, "publicKey" | "privateKey"> {
	const ecdh = createECDH("prime256v1");
	ecdh.generateKeys();
	return { publicKey: ecdh.getPublicKey().toString("base64url"), privateKey: ecdh.getPrivateKey().toString("base64url") };
}

/** Whether the given keys are a valid pair: a wrong one would only fail later, at every push. */
export function checkVapidKeys(keys: Pick<VapidKeys, "publicKey" | "privateKey">): string | null {
	const publicKey = Buffer.from(keys.publicKey, "base64url");
	const privateKey = Buffer.from(keys.privateKey, "base64url");
	if (publicKey.length !== 65 || publicKey[0] !== 4) return "VAPID_PUBLIC_KEY must be an uncompressed P-256 public key in base64url (65 bytes)";
	if (privateKey.length !== 32) return "VAPID_PRIVATE_KEY must be a P-256 private key in base64url (32 bytes)";
	const ecdh = createECDH("prime256v1");
	ecdh.setPrivateKey(privateKey);
	if (!ecdh.getPublicKey().equals(publicKey)) return "VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY";
	return null;
}

/**
 * The keys given in the environment, else (development) a pair generated once and kept in `keepUnder/vapid-keys.json`,
 * so subscriptions made by browsers stay valid across restarts; without a place to keep them, a pair for this process.
 */
export function resolveVapidKeys(given: Partial<VapidKeys>, keepUnder: string | null): VapidKeys {
	const subject = given.subject || DEVELOPMENT_SUBJECT;
	if (given.publicKey && given.privateKey) return { publicKey: given.publicKey, privateKey: given.privateKey, subject };
	if (keepUnder == null) return { ...generateVapidKeys(), subject };
	const kept = path.join(keepUnder, "vapid-keys.json");
	if (existsSync(kept)) return { ...(JSON.parse(readFileSync(kept, "utf8")) as Pick<VapidKeys, "publicKey" | "privateKey">), subject };
	mkdirSync(keepUnder, { recursive: true });
	const keys = generateVapidKeys();
	writeFileSync(kept, JSON.stringify(keys) + "\n", { mode: 0o600 });
	return { ...keys, subject };
}
