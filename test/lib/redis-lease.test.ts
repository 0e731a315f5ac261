import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { RedisLeases } from "../../lib/redis-lease.ts";
import { GroupChangeLock } from "../../services/groups/change-lock.ts";
import { redisSkipReason } from "../helpers/socket.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

describe("Redis leases (group changes across nodes)", () => {
	let skip: string | false = "not probed";
	const opened: RedisLeases[] = [];
	const prefix = `test-lease-${randomBytes(4).toString("hex")}:`;
	const leases = (options = { ttlMs: 2_000, waitMs: 5_000 }) => {
		const made = new RedisLeases(REDIS_URL, prefix, options);
		opened.push(made);
		return made;
	};
	before(async () => {
		skip = await redisSkipReason(REDIS_URL);
	});
	after(async () => {
		await Promise.all(opened.map(l => l.close()));
	});

	test("two nodes' locks never run changes of one group or one user at once; other keys do not wait", async t => {
		if (skip) return t.skip(skip);
		const nodes = [new GroupChangeLock(leases()), new GroupChangeLock(leases())];
		const running = new Map<string, number>();
		let most = 0;
		const change = (key: string) => async () => {
			const now = (running.get(key) ?? 0) + 1;
			running.set(key, now);
			most = Math.max(most, now);
			await sleep(2 + Math.random() * 5);
			running.set(key, running.get(key)! - 1);
			return key;
		};
		const work: Promise<string>[] = [];
		for (let i = 0; i < 20; i++) {
			const node = nodes[i % 2];
			work.push(node.run("group-1", change("group-1")));
			work.push(node.runForUsers(["u2", "u1"], change("user:u1")));
		}
		const started = Date.now();
		const other = await nodes[1].run("group-2", async () => Date.now() - started);
		assert.equal((await Promise.all(work)).length, 40);
		assert.equal(most, 1, "never two at once");
		assert.ok(other < 1_000, `another group's change ran at once (${other} ms)`);
	});

	test("a holder that died without giving the lease back keeps it until its time runs out; a live holder renews it", async t => {
		if (skip) return t.skip(skip);
		const dead = leases({ ttlMs: 300, waitMs: 5_000 });
		await dead.acquire("g"); // never given back: its node died (renewal stops with the process)
		await dead.close();
		const live = leases({ ttlMs: 300, waitMs: 5_000 });
		const started = Date.now();
		const release = await live.acquire("g");
		assert.ok(Date.now() - started >= 100, "waited for the dead holder's lease to run out");
		// Held well past its ttl: the renewal keeps it.
		const rival = leases({ ttlMs: 300, waitMs: 700 });
		await assert.rejects(rival.acquire("g"), { code: 503, type: "SERVICE_OVERLOADED" });
		await release();
		const next = await rival.acquire("g");
		await next();
	});
});
