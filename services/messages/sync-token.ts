import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The `syncToken` of `messages.sync`: per-conversation version high-water marks, opaque to clients.
 * Binary (one format byte, then 12 bytes of conversation id and 6 of version per conversation) and
 * signed for the user it was issued to, so a forged, altered or another user's token is refused
 * rather than trusted. At most MAX_TOKEN_GROUPS conversations: about 24 kB of base64url at the bound.
 */

export type VersionMarks = Map<string, number>;

export const MAX_TOKEN_GROUPS = 1000;

const FORMAT = 1;
const ID_BYTES = 12;
const VERSION_BYTES = 6;
const ENTRY_BYTES = ID_BYTES + VERSION_BYTES;
const MAC_BYTES = 16;
const ID_PATTERN = /^[a-f0-9]{24}$/;

export class SyncTokenError extends Error {}

function mac(secret: string, userId: string, body: Buffer): Buffer {
	return createHmac("sha256", secret).update(`sync-token:${userId}:`).update(body).digest().subarray(0, MAC_BYTES);
}

export function encodeSyncToken(marks: VersionMarks, userId: string, secret: string): string {
	const entries = [...marks].filter(([groupId]) => ID_PATTERN.test(groupId)).slice(0, MAX_TOKEN_GROUPS);
	const body = Buffer.alloc(1 + entries.length * ENTRY_BYTES);
	body[0] = FORMAT;
	entries.forEach(([groupId, version], i) => {
		const at = 1 + i * ENTRY_BYTES;
		body.write(groupId, at, ID_BYTES, "hex");
		body.writeUIntBE(version, at + ID_BYTES, VERSION_BYTES);
	});
	return Buffer.concat([body, mac(secret, userId, body)]).toString("base64url");
}

/** Throws SyncTokenError for anything but a token this server issued to `userId`. */
export function decodeSyncToken(token: string, userId: string, secret: string): VersionMarks {
	if (!/^[A-Za-z0-9_-]*$/.test(token)) throw new SyncTokenError("not base64url");
	const raw = Buffer.from(token, "base64url");
	const bodyLength = raw.length - MAC_BYTES;
	if (bodyLength < 1 || (bodyLength - 1) % ENTRY_BYTES !== 0 || (bodyLength - 1) / ENTRY_BYTES > MAX_TOKEN_GROUPS) throw new SyncTokenError("bad length");
	const body = raw.subarray(0, bodyLength);
	if (!timingSafeEqual(raw.subarray(bodyLength), mac(secret, userId, body))) throw new SyncTokenError("bad signature");
	if (body[0] !== FORMAT) throw new SyncTokenError("unknown format");
	const marks: VersionMarks = new Map();
	for (let at = 1; at < bodyLength; at += ENTRY_BYTES) {
		marks.set(body.toString("hex", at, at + ID_BYTES), body.readUIntBE(at + ID_BYTES, VERSION_BYTES));
	}
	return marks;
}

/**
 * The marks of the next token: this sync's conversations first, then the earlier token's others (a client
 * that syncs some conversations keeps its place in the rest), up to MAX_TOKEN_GROUPS.
 */
export function mergeMarks(synced: VersionMarks, earlier: VersionMarks): VersionMarks {
	const next: VersionMarks = new Map(synced);
	for (const [groupId, version] of earlier) {
		if (next.size >= MAX_TOKEN_GROUPS) break;
		if (!next.has(groupId)) next.set(groupId, version);
	}
	return next;
}
