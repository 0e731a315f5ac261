import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { registerUser, type TestUser } from "../helpers/app.ts";
import { CloudinaryStorage, DOWNLOAD_TTL_SECONDS } from "../../lib/storage/cloudinary.ts";
import { filesUnder, startAssetsApp, testImage, uploadFile, type AssetsTestApp } from "../helpers/assets.ts";

const TIMEOUT = { timeout: 30_000 };
const CLOUD = "democloud";
const KEY = "123456789012345";
const SECRET = "stub-api-secret_xyz";

interface SeenUpload {
	path: string;
	fields: Record<string, string>;
	file: Buffer;
}

/** The signature Cloudinary expects: sorted `key=value` pairs joined by `&` (`&` inside escaped), secret appended, SHA-1 hex. */
function expectedSignature(fields: Record<string, string>, secret: string): string {
	const signed = Object.entries(fields)
		.filter(([k, v]) => !["file", "api_key", "signature", "resource_type", "cloud_name"].includes(k) && v !== "")
		.sort(([a], [b]) => a.localeCompare(b))
		.map(([k, v]) => `${k}=${v}`.replace(/&/g, "%26"))
		.join("&");
	return createHash("sha1")
		.update(signed + secret)
		.digest("hex");
}

describe("assets on Cloudinary (against a local stand-in for its upload API)", () => {
	let app: AssetsTestApp;
	let stub: http.Server;
	let alice: TestUser;
	const seen: SeenUpload[] = [];
	let failNext = false;
	let prefix = "";

	before(async () => {
		stub = http.createServer(async (req, res) => {
			const body: Buffer[] = [];
			for await (const chunk of req) body.push(chunk as Buffer);
			const form = await new Request("http://stub" + req.url, {
				method: "POST",
				headers: req.headers as Record<string, string>,
				body: Buffer.concat(body)
			}).formData();
			const fields: Record<string, string> = {};
			let file = Buffer.alloc(0);
			for (const [k, v] of form) {
				if (typeof v === "string") fields[k] = v;
				else file = Buffer.from(await v.arrayBuffer());
			}
			seen.push({ path: req.url ?? "", fields, file });
			if (failNext) {
				failNext = false;
				res.writeHead(500, { "content-type": "application/json" });
				return res.end(JSON.stringify({ error: { message: "stub failure" } }));
			}
			const resourceType = /\/v1_1\/[^/]+\/([a-z]+)\/upload$/.exec(req.url ?? "")?.[1] ?? "image";
			res.writeHead(200, { "content-type": "application/json" });
			res.end(
				JSON.stringify({
					public_id: fields.public_id,
					version: 1712345678,
					signature: "whatever",
					resource_type: resourceType,
					type: fields.type,
					bytes: file.length,
					...(resourceType === "image" ? { format: "png", width: 1280, height: 720 } : {}),
					secure_url: `https://res.cloudinary.com/${CLOUD}/${resourceType}/${fields.type}/v1712345678/${fields.public_id}`
				})
			);
		});
		await new Promise<void>(resolve => stub.listen(0, "127.0.0.1", resolve));
		prefix = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
		app = await startAssetsApp({ cloudinaryUrl: `cloudinary://${KEY}:${SECRET}@${CLOUD}?upload_prefix=${encodeURIComponent(prefix)}` });
		alice = await registerUser(app, "alice");
	});
	after(async () => {
		await app.stop();
		await new Promise(resolve => stub.close(resolve));
	});

	test("an image upload is a signed request, and the response becomes the asset", TIMEOUT, async () => {
		const png = await testImage("png", 64, 36);
		const before = Math.floor(Date.now() / 1000);
		const up = await uploadFile(app, alice.accessToken, png, { name: "wide.png", type: "image/png" });
		assert.equal(up.status, 201, JSON.stringify(up.body));

		const request = seen.at(-1)!;
		assert.equal(request.path, `/v1_1/${CLOUD}/image/upload`);
		assert.equal(request.fields.api_key, KEY);
		assert.equal(request.fields.public_id, `chat-assets/${up.body.id}`);
		assert.equal(request.fields.type, "authenticated");
		const timestamp = Number(request.fields.timestamp);
		assert.ok(timestamp >= before - 1 && timestamp <= Date.now() / 1000 + 1, `timestamp ${timestamp}`);
		assert.match(request.fields.signature, /^[a-f0-9]{40}$/);
		assert.equal(request.fields.signature, expectedSignature(request.fields, SECRET));
		assert.notEqual(request.fields.signature, expectedSignature(request.fields, "another secret"));
		assert.deepEqual(request.file, png);

		// Dimensions as Cloudinary reported them; the thumbnail is one of its transformations.
		assert.equal(up.body.width, 1280);
		assert.equal(up.body.height, 720);
		assert.equal(up.body.mimeType, "image/png");
		assert.ok(up.body.thumbnailUrl);

		// The original: a private download URL (the download API, here at the stand-in's prefix) that expires with our link.
		const original = await fetch(app.url + up.body.url, { redirect: "manual" });
		assert.equal(original.status, 302);
		const download = new URL(original.headers.get("location")!);
		assert.equal(download.origin + download.pathname, `${prefix}/v1_1/${CLOUD}/image/download`);
		const query = Object.fromEntries(download.searchParams);
		assert.equal(query.public_id, `chat-assets/${up.body.id}`);
		assert.equal(query.format, "png");
		assert.equal(query.type, "authenticated");
		assert.equal(query.api_key, KEY);
		const ours = Number(new URL(app.url + up.body.url).searchParams.get("exp"));
		const expiresAt = Number(query.expires_at);
		assert.ok(expiresAt > Date.now() / 1000, `expires_at ${expiresAt} is in the future`);
		assert.ok(expiresAt <= ours, "no later than our own link");
		assert.ok(expiresAt <= Date.now() / 1000 + DOWNLOAD_TTL_SECONDS, "and short");
		assert.equal(query.signature, expectedSignature(query, SECRET));
		const thumb = await fetch(app.url + up.body.thumbnailUrl, { redirect: "manual" });
		assert.equal(thumb.status, 302);
		assert.match(
			thumb.headers.get("location")!,
			new RegExp(`/image/authenticated/s--[A-Za-z0-9_-]{8}--/c_limit,h_320,w_320/v1712345678/chat-assets/${up.body.id}\\.webp$`)
		);

		// Nothing is kept locally.
		assert.deepEqual(filesUnder(app.uploadsDir), []);
	});

	test("other files go up as raw resources without a thumbnail", TIMEOUT, async () => {
		const pdf = Buffer.from("%PDF-1.4\nhello\n%%EOF\n");
		const up = await uploadFile(app, alice.accessToken, pdf, { name: "doc.pdf", type: "application/pdf" });
		assert.equal(up.status, 201, JSON.stringify(up.body));
		assert.equal(seen.at(-1)!.path, `/v1_1/${CLOUD}/raw/upload`);
		assert.equal(up.body.thumbnailUrl, null);
		assert.equal(up.body.width, null);
		const res = await fetch(app.url + up.body.url, { redirect: "manual" });
		assert.equal(res.status, 302);
		const download = new URL(res.headers.get("location")!);
		assert.equal(download.pathname, `/v1_1/${CLOUD}/raw/download`);
		assert.equal(download.searchParams.get("public_id"), `chat-assets/${up.body.id}`);
		assert.ok(Number(download.searchParams.get("expires_at")) > Date.now() / 1000);
		assert.equal(download.searchParams.get("signature"), expectedSignature(Object.fromEntries(download.searchParams), SECRET));
	});

	test("a failing Cloudinary leaves no asset and no local file", TIMEOUT, async () => {
		failNext = true;
		const up = await uploadFile(app, alice.accessToken, Buffer.from("some notes\n"), { name: "notes.txt", type: "text/plain" });
		assert.equal(up.status, 500);
		assert.equal(up.body.type, "INTERNAL_ERROR");
		assert.deepEqual(filesUnder(app.uploadsDir), []);
	});

	test("with a token key (token-based authentication), a thumbnail URL expires with our link too", () => {
		const storage = new CloudinaryStorage(`cloudinary://${KEY}:${SECRET}@${CLOUD}?auth_token_key=${"ab".repeat(16)}`);
		const location = { driver: "cloudinary", publicId: "chat-assets/x", resourceType: "image", type: "authenticated", version: 1, format: "png" } as const;
		const now = Date.now();
		const exp = Math.floor(now / 1000) + 600;
		return storage.deliver("x", location, "thumb", false, exp, now).then(delivery => {
			assert.equal(delivery?.kind, "redirect");
			const url = delivery.kind === "redirect" ? delivery.url : "";
			const token = /__cld_token__=([^&]+)/.exec(url)?.[1] ?? "";
			assert.match(token, new RegExp(`exp=${exp}~`), url);
			assert.match(url, /c_limit,h_320,w_320/);
		});
	});
});
