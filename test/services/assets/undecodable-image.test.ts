import assert from "node:assert/strict";
import { deflateSync } from "node:zlib";
import { after, before, test } from "node:test";
import { registerUser, type TestUser } from "../../helpers/app.ts";
import { filesUnder, startAssetsApp, testImage, uploadFile, type AssetsTestApp } from "../../helpers/assets.ts";

/** An image the server cannot decode is never stored as an inline image (which members' browsers would decode). */

const TIMEOUT = { timeout: 30_000 };
let app: AssetsTestApp;
let alice: TestUser;

before(async () => {
	app = await startAssetsApp();
	alice = await registerUser(app, "alice");
});
after(() => app.stop());

function crc32(bytes: Buffer): number {
	let crc = ~0;
	for (const byte of bytes) {
		crc ^= byte;
		for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
	const head = Buffer.alloc(4);
	head.writeUInt32BE(data.length);
	const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(body));
	return Buffer.concat([head, body, crc]);
}

/** A valid grey PNG of `width`×`height`, small on disk (rows of zeros compress well). */
function bigPng(width: number, height: number): Buffer {
	const header = Buffer.alloc(13);
	header.writeUInt32BE(width, 0);
	header.writeUInt32BE(height, 4);
	header[8] = 8; // bit depth
	header[9] = 0; // greyscale
	const raw = Buffer.alloc((width + 1) * height);
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk("IHDR", header),
		chunk("IDAT", deflateSync(raw)),
		chunk("IEND", Buffer.alloc(0))
	]);
}

test("an image past the pixel limit is refused (415), nothing kept", TIMEOUT, async () => {
	const png = bigPng(10_000, 9_000); // 90 megapixels, over the 80 the server decodes
	const up = await uploadFile(app, alice.accessToken, png, { name: "huge.png", type: "image/png" });
	assert.equal(up.status, 415, JSON.stringify(up.body));
	assert.deepEqual(filesUnder(app.uploadsDir), []);
});

test("a damaged image (a PNG signature, then garbage) is refused (415)", TIMEOUT, async () => {
	const good = await testImage("png", 64, 64);
	const damaged = Buffer.concat([good.subarray(0, 40), Buffer.alloc(400, 0x55)]);
	const up = await uploadFile(app, alice.accessToken, damaged, { name: "broken.png", type: "image/png" });
	assert.equal(up.status, 415, JSON.stringify(up.body));
});

test("a readable image is still stored inline with its thumbnail", TIMEOUT, async () => {
	const up = await uploadFile(app, alice.accessToken, await testImage("png", 64, 48), { name: "ok.png", type: "image/png" });
	assert.equal(up.status, 201, JSON.stringify(up.body));
	assert.ok(up.body.thumbnailUrl);
	assert.equal(up.body.width, 64);
});
