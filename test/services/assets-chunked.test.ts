import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { client, registerUser, type TestUser } from "../helpers/app.ts";
import { eventually, filesUnder, sha256, startAssetsApp, type AssetsTestApp } from "../helpers/assets.ts";

const CHUNK = 64 * 1024;
const MAX = 512 * 1024;
const TIMEOUT = { timeout: 30_000 };

async function putChunk(app: { url: string }, token: string, uploadId: string, index: number | string, bytes: Uint8Array) {
	const res = await fetch(`${app.url}/api/assets/uploads/${uploadId}/chunks/${index}`, {
		method: "PUT",
		headers: { authorization: `Bearer ${token}`, "content-type": "application/octet-stream" },
		body: bytes
	});
	return { status: res.status, body: (await res.json()) as any };
}

describe("assets: resumable uploads", () => {
	let app: AssetsTestApp;
	let alice: TestUser;
	let bob: TestUser;

	before(async () => {
		app = await startAssetsApp({ maxBytes: MAX, chunkBytes: CHUNK });
		[alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
	});
	after(() => app.stop());

	const chunkFiles = () => filesUnder(path.join(app.uploadsDir, "chunks"));

	test("chunks in any order, one sent twice, then complete: the same bytes come back", TIMEOUT, async () => {
		const a = client(app, alice.accessToken);
		const bytes = Buffer.concat([Buffer.from("%PDF-1.5\n"), randomBytes(2 * CHUNK + 1000 - 9)]);
		const created = await a.post("/api/assets/uploads", { name: "big/../report.pdf", size: bytes.length, mimeType: "application/pdf" });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const { uploadId, chunkSize, totalChunks } = created.body;
		assert.equal(chunkSize, CHUNK);
		assert.equal(totalChunks, 3);
		const chunk = (i: number) => bytes.subarray(i * CHUNK, (i + 1) * CHUNK);

		assert.equal((await putChunk(app, alice.accessToken, uploadId, 2, chunk(2))).status, 200);
		const first = await putChunk(app, alice.accessToken, uploadId, 0, chunk(0));
		assert.equal(first.status, 200, JSON.stringify(first.body));
		const retried = await putChunk(app, alice.accessToken, uploadId, 0, chunk(0));
		assert.equal(retried.status, 200);
		assert.deepEqual(retried.body.receivedChunks, [0, 2]);

		const status = await a.get(`/api/assets/uploads/${uploadId}`);
		assert.equal(status.status, 200);
		assert.deepEqual(status.body.receivedChunks, [0, 2]);
		assert.deepEqual(status.body.missingChunks, [1]);

		const early = await a.post(`/api/assets/uploads/${uploadId}/complete`, { checksum: sha256(bytes) });
		assert.equal(early.status, 409);
		assert.deepEqual(early.body.data.missingChunks, [1]);

		// A damaged chunk: the checksum catches it, the chunk can be sent again.
		const damaged = Buffer.from(chunk(1));
		damaged[10] ^= 0xff;
		assert.equal((await putChunk(app, alice.accessToken, uploadId, 1, damaged)).status, 200);
		const mismatch = await a.post(`/api/assets/uploads/${uploadId}/complete`, { checksum: sha256(bytes) });
		assert.equal(mismatch.status, 422);
		assert.equal(mismatch.body.data[0].field, "checksum");
		assert.equal((await putChunk(app, alice.accessToken, uploadId, 1, chunk(1))).status, 200);

		const bad = await a.post(`/api/assets/uploads/${uploadId}/complete`, { checksum: "not-hex" });
		assert.equal(bad.status, 422);
		assert.equal(bad.body.data[0].field, "checksum");

		const done = await a.post(`/api/assets/uploads/${uploadId}/complete`, { checksum: sha256(bytes).toUpperCase() });
		assert.equal(done.status, 201, JSON.stringify(done.body));
		assert.equal(done.body.size, bytes.length);
		assert.equal(done.body.mimeType, "application/pdf");
		assert.equal(done.body.name, "report.pdf");
		const res = await fetch(app.url + done.body.url);
		assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
		assert.ok(!existsSync(path.join(app.uploadsDir, "chunks", uploadId)), "chunks removed once assembled");

		// A retried complete (its answer lost) gets the same asset.
		const again = await a.post(`/api/assets/uploads/${uploadId}/complete`, { checksum: sha256(bytes) });
		assert.equal(again.status, 201);
		assert.equal(again.body.id, done.body.id);
		assert.equal((await putChunk(app, alice.accessToken, uploadId, 0, chunk(0))).status, 409);
	});

	test("sizes are checked: declared over the limit, chunks too long or too short", TIMEOUT, async () => {
		const a = client(app, alice.accessToken);
		const tooBig = await a.post("/api/assets/uploads", { name: "huge.zip", size: MAX + 1, mimeType: "application/zip" });
		assert.equal(tooBig.status, 413);

		const created = await a.post("/api/assets/uploads", { name: "notes.txt", size: CHUNK + 10, mimeType: "text/plain" });
		const { uploadId } = created.body;
		const long = await putChunk(app, alice.accessToken, uploadId, 1, Buffer.alloc(CHUNK, "a"));
		assert.equal(long.status, 413);
		const short = await putChunk(app, alice.accessToken, uploadId, 0, Buffer.alloc(100, "a"));
		assert.equal(short.status, 422);
		assert.equal(short.body.data[0].field, "chunk");
		const outOfRange = await putChunk(app, alice.accessToken, uploadId, 2, Buffer.alloc(10, "a"));
		assert.equal(outOfRange.status, 422);
		assert.equal(outOfRange.body.data[0].field, "index");
		const notANumber = await putChunk(app, alice.accessToken, uploadId, "x", Buffer.alloc(10, "a"));
		assert.equal(notANumber.status, 422);
		assert.deepEqual(chunkFiles(), [], "no refused chunk stays on disk");
		assert.deepEqual((await a.get(`/api/assets/uploads/${uploadId}`)).body.receivedChunks, []);

		// Someone else's upload does not exist for you.
		assert.equal((await putChunk(app, bob.accessToken, uploadId, 0, Buffer.alloc(CHUNK, "a"))).status, 404);
		assert.equal((await client(app, bob.accessToken).get(`/api/assets/uploads/${uploadId}`)).status, 404);

		for (const body of [{ name: "", size: 10 }, { name: "a.txt", size: 0 }, { name: "a.txt", size: 1.5 }, { name: "a.txt" }]) {
			const res = await a.post("/api/assets/uploads", body);
			assert.equal(res.status, 422, JSON.stringify(body));
		}
	});

	test("an assembled file of a refused type is rejected and its chunks removed", TIMEOUT, async () => {
		const a = client(app, alice.accessToken);
		const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), randomBytes(CHUNK + 500)]);
		const { uploadId } = (await a.post("/api/assets/uploads", { name: "photo.png", size: elf.length, mimeType: "image/png" })).body;
		assert.equal((await putChunk(app, alice.accessToken, uploadId, 0, elf.subarray(0, CHUNK))).status, 200);
		assert.equal((await putChunk(app, alice.accessToken, uploadId, 1, elf.subarray(CHUNK))).status, 200);
		const res = await a.post(`/api/assets/uploads/${uploadId}/complete`, { checksum: sha256(elf) });
		assert.equal(res.status, 415);
		assert.equal((await a.get(`/api/assets/uploads/${uploadId}`)).status, 404);
		assert.ok(!existsSync(path.join(app.uploadsDir, "chunks", uploadId)));
		assert.deepEqual(filesUnder(path.join(app.uploadsDir, "tmp")), []);
	});
});

describe("assets: abandoned uploads", () => {
	let app: AssetsTestApp;
	let alice: TestUser;

	before(async () => {
		app = await startAssetsApp({ chunkBytes: 1024, staleAfterSeconds: 1 });
		alice = await registerUser(app, "alice");
	});
	after(() => app.stop());

	test("are deleted with their chunks by the service's timer", TIMEOUT, async () => {
		const a = client(app, alice.accessToken);
		const { uploadId } = (await a.post("/api/assets/uploads", { name: "a.txt", size: 3000, mimeType: "text/plain" })).body;
		assert.equal((await putChunk(app, alice.accessToken, uploadId, 0, Buffer.alloc(1024, "a"))).status, 200);
		assert.equal(filesUnder(path.join(app.uploadsDir, "chunks")).length, 1);
		await eventually(async () => (await a.get(`/api/assets/uploads/${uploadId}`)).status === 404, 10_000, "the abandoned upload to be swept");
		assert.deepEqual(filesUnder(path.join(app.uploadsDir, "chunks")), []);
		assert.ok(!existsSync(path.join(app.uploadsDir, "chunks", uploadId)));
	});
});
