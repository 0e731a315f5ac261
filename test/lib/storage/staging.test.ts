import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { after, describe, test } from "node:test";
import { StagingArea } from "../../../lib/storage/staging.ts";

const root = mkdtempSync(path.join(tmpdir(), "staging-test-"));
after(() => rmSync(root, { recursive: true, force: true }));

async function freshArea(name: string): Promise<StagingArea> {
	const area = new StagingArea(path.join(root, name));
	await area.init();
	return area;
}

describe("StagingArea", () => {
	test("receives a stream measured, hashed, with its first bytes", async () => {
		const area = await freshArea("receive");
		const bytes = Buffer.from("hello, staged world");
		const staged = await area.receive(Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]), { maxBytes: bytes.length, headBytes: 5 });
		assert.equal(staged.size, bytes.length);
		assert.equal(staged.sha256, createHash("sha256").update(bytes).digest("hex"));
		assert.equal(staged.head.toString(), "hello");
		assert.deepEqual(readFileSync(staged.path), bytes);
		await area.discard(staged.path);
		assert.ok(!existsSync(staged.path));
	});

	test("past the limit: 413 and nothing left on disk", async () => {
		const area = await freshArea("limit");
		await assert.rejects(area.receive(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), { maxBytes: 15 }), { code: 413, message: /limit of 15 bytes/ });
		assert.deepEqual(readdirSync(area.dir), []);
	});

	test("removes files older than an age, keeps the fresh ones", async () => {
		const area = await freshArea("sweep");
		writeFileSync(path.join(area.dir, "old.part"), "x");
		writeFileSync(path.join(area.dir, "new.part"), "y");
		const hourAgo = new Date(Date.now() - 3600_000);
		utimesSync(path.join(area.dir, "old.part"), hourAgo, hourAgo);
		assert.equal(await area.removeOlderThan(60_000), 1);
		assert.deepEqual(readdirSync(area.dir), ["new.part"]);
	});
});
