import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { ChatConfig } from "../../lib/config.ts";
import { startTestApp, tempDataDir, type TestApp } from "./app.ts";

export interface AssetsTestApp extends TestApp {
	uploadsDir: string;
}

/** A test node whose uploads go to a fresh temporary directory, removed on stop. */
export async function startAssetsApp(uploads: Partial<ChatConfig["uploads"]> = {}, overrides: Partial<ChatConfig> = {}): Promise<AssetsTestApp> {
	const temp = tempDataDir();
	const base = { maxBytes: 25 * 1024 * 1024, quotaBytes: 0, cloudinaryUrl: undefined, dir: temp.dir, chunkBytes: 64 * 1024, staleAfterSeconds: 3600 };
	const app = await startTestApp({ ...overrides, uploads: { ...base, ...uploads } });
	return {
		...app,
		uploadsDir: temp.dir,
		async stop() {
			await app.stop();
			temp.remove();
		}
	};
}

/** multipart/form-data upload of `bytes` in the field `file` (or `field`). */
export async function uploadFile(
	app: { url: string },
	token: string | undefined,
	bytes: Uint8Array,
	options: { name?: string; type?: string; purpose?: string; field?: string } = {}
): Promise<{ status: number; body: any }> {
	const form = new FormData();
	form.append(options.field ?? "file", new Blob([bytes], { type: options.type ?? "application/octet-stream" }), options.name ?? "file.bin");
	const query = options.purpose ? `?purpose=${options.purpose}` : "";
	const res = await fetch(`${app.url}/api/assets/upload${query}`, {
		method: "POST",
		headers: token ? { authorization: `Bearer ${token}` } : {},
		body: form
	});
	const text = await res.text();
	let body: unknown = text;
	try {
		body = JSON.parse(text);
	} catch {
		// keep text
	}
	return { status: res.status, body };
}

/** Every regular file under `dir`, relative paths. */
export function filesUnder(dir: string): string[] {
	return readdirSync(dir, { recursive: true, withFileTypes: true })
		.filter(e => e.isFile())
		.map(e => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Polls until `check` holds (bounded), for effects that complete just after a response. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = "condition"): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise(r => setTimeout(r, 25));
	}
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A noisy test image (noise keeps the encoded size realistic). */
export async function testImage(format: "png" | "jpeg", width: number, height: number): Promise<Buffer> {
	const raw = Buffer.alloc(width * height * 3);
	for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) % 251;
	const image = sharp(raw, { raw: { width, height, channels: 3 } });
	return format === "png" ? image.png().toBuffer() : image.jpeg({ quality: 85 }).toBuffer();
}
