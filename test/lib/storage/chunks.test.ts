import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { after, describe, test } from "node:test";
import { ChunkStore } from "../../../lib/storage/chunks.ts";

const root = mkdtempSync(path.join(tmpdir(), "chunks-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

const UPLOAD = "e".repeat(24);
const tooLong = (n: number) => Object.assign(new Error(`longer than ${n}`), { code: 413 });
const body = (text: string) => Readable.from([Buffer.from(text)]);

async function freshStore(name: string): Promise<{ store: ChunkStore; dir: string }> {
	const dir = path.join(root, name);
	const store = new ChunkStore(dir);
	await store.init();
	return { store, dir };
}

describe("ChunkStore", () => {
	test("chunks written out of order are listed and concatenated in order", async () => {
		const { store } = await freshStore("order");
		assert.equal(await store.write(UPLOAD, 2, body("ccc"), 3, tooLong), 3);
		assert.equal(await store.write(UPLOAD, 0, body("aaa"), 3, tooLong), 3);
		assert.deepEqual(await store.received(UPLOAD), [0, 2]);
		assert.equal(await store.write(UPLOAD, 1, body("bbb"), 3, tooLong), 3);
		assert.deepEqual(await store.received(UPLOAD), [0, 1, 2]);
		assert.equal((await buffer(store.concatenated(UPLOAD, 3))).toString(), "aaabbbccc");
	});

	test("a chunk sent again replaces the first copy", async () => {
		const { store, dir } = await freshStore("duplicate");
		await store.write(UPLOAD, 0, body("old"), 3, tooLong);
		await store.write(UPLOAD, 0, body("new"), 3, tooLong);
		assert.deepEqual(await store.received(UPLOAD), [0]);
		assert.deepEqual(readdirSync(path.join(dir, UPLOAD)), ["0"]);
		assert.equal((await buffer(store.concatenated(UPLOAD, 1))).toString(), "new");
	});

	test("a short chunk is reported and not kept; a long one is refused with nothing left on disk", async () => {
		const { store, dir } = await freshStore("sizes");
		assert.equal(await store.write(UPLOAD, 0, body("ab"), 3, tooLong), 2);
		await assert.rejects(store.write(UPLOAD, 1, body("abcd"), 3, tooLong), { code: 413, message: "longer than 3" });
		assert.deepEqual(await store.received(UPLOAD), []);
		assert.deepEqual(readdirSync(path.join(dir, UPLOAD)), []);
	});

	test("remove deletes an upload's chunks; idle folders are found by age", async () => {
		const { store, dir } = await freshStore("remove");
		const other = "f".repeat(24);
		await store.write(UPLOAD, 0, body("a"), 1, tooLong);
		await store.write(other, 0, body("b"), 1, tooLong);
		const hourAgo = new Date(Date.now() - 3600_000);
		utimesSync(path.join(dir, other), hourAgo, hourAgo);
		assert.deepEqual(await store.idleUploadIds(60_000), [other]);
		await store.remove(other);
		assert.deepEqual(await store.received(other), []);
		assert.deepEqual(readdirSync(dir), [UPLOAD]);
		assert.deepEqual(await store.idleUploadIds(60_000), []);
	});

	test("only upload ids name folders", async () => {
		const { store } = await freshStore("ids");
		await assert.rejects(store.write("../escape", 0, body("a"), 1, tooLong), /not an upload id/);
		await assert.rejects(store.remove("../../etc"), /not an upload id/);
	});
});
