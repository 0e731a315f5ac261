import { createDecipheriv, createECDH, hkdfSync, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A push as the stand-in push service received it. */
export interface ReceivedPush {
	path: string;
	headers: IncomingHttpHeaders;
	body: Buffer;
}

/** A browser's side of one subscription: its keys (RFC 8291), to decrypt what the server pushed to it. */
export interface FakeDevice {
	endpoint: string;
	keys: { p256dh: string; auth: string };
	decrypt(body: Buffer): unknown;
}

/**
 * A push service stand-in on loopback: records every POST and answers 201, or 410 for endpoints under /gone/
 * (a subscription the browser dropped).
 */
export async function startPushService(): Promise<{ origin: string; received: ReceivedPush[]; device(name: string): FakeDevice; close(): Promise<void> }> {
	const received: ReceivedPush[] = [];
	const server: Server = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c: Buffer) => chunks.push(c));
		req.on("end", () => {
			received.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
			res.writeHead(req.url?.startsWith("/gone/") ? 410 : 201).end();
		});
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return {
		origin,
		received,
		device: (name: string) => fakeDevice(`${origin}/${name}`),
		close: () => new Promise(resolve => server.close(() => resolve()))
	};
}

/** RFC 8291 from the user agent's side: a P-256 key pair and an auth secret; `decrypt` undoes one aes128gcm record. */
export function fakeDevice(endpoint: string): FakeDevice {
	const ecdh = createECDH("prime256v1");
	ecdh.generateKeys();
	const uaPublic = ecdh.getPublicKey();
	const authSecret = randomBytes(16);
	return {
		endpoint,
		keys: { p256dh: uaPublic.toString("base64url"), auth: authSecret.toString("base64url") },
		decrypt(body: Buffer): unknown {
			// RFC 8188 header: salt (16) | record size (4) | key id length (1) | key id (the sender's public key).
			const salt = body.subarray(0, 16);
			const idLength = body[20];
			const asPublic = body.subarray(21, 21 + idLength);
			const ciphertext = body.subarray(21 + idLength);
			const ecdhSecret = ecdh.computeSecret(asPublic);
			const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), uaPublic, asPublic]);
			const ikm = Buffer.from(hkdfSync("sha256", ecdhSecret, authSecret, keyInfo, 32));
			const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
			const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
			const decipher = createDecipheriv("aes-128-gcm", cek, nonce);
			decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
			const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
			// The last record ends with the delimiter 0x02, then zero padding.
			let end = padded.length - 1;
			while (end >= 0 && padded[end] === 0) end--;
			if (padded[end] !== 2) throw new Error("not the last record of an aes128gcm body");
			return JSON.parse(padded.subarray(0, end).toString("utf8"));
		}
	};
}
