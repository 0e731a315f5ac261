import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { lockDataDir, unlockDataDir } from "../../../lib/storage/data-dir-lock.ts";

const dir = mkdtempSync(path.join(tmpdir(), "data-dir-lock-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("DATA_DIR lock", () => {
	test("services of one process waiting together for another's lock share it once taken: it is held until the last lets go", async () => {
		const other = spawn("sleep", ["30"]);
		const lock = path.join(dir, ".lock");
		writeFileSync(lock, JSON.stringify({ pid: other.pid, host: hostname(), since: new Date().toISOString() }));
		const both = Promise.all([lockDataDir(dir, 10_000), lockDataDir(dir, 10_000)]);
		await new Promise(resolve => setTimeout(resolve, 300));
		other.kill("SIGKILL");
		await both;
		unlockDataDir(dir);
		assert.ok(existsSync(lock), "still held by the other service");
		unlockDataDir(dir);
		assert.equal(existsSync(lock), false);
	});
});
