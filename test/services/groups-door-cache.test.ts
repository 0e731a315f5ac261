import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ServiceBroker } from "moleculer";
import type { Collection } from "../../mixins/db.mixin.ts";
import { DOORS } from "../../services/groups/commit.ts";
import type { GroupDoc } from "../../services/groups/documents.ts";
import { DoorCache } from "../../services/groups/door-cache.ts";
import { startTestApp, useTestApp, type TestApp } from "../helpers/app.ts";
import { redisSkipReason } from "../helpers/socket.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

function gate(): { wait: Promise<void>; open(): void } {
	let open!: () => void;
	const wait = new Promise<void>(resolve => (open = resolve));
	return { wait, open };
}

/** Two nodes' door caches: one memory cache each (cleans announced from one to the other), or one Redis for both. */
async function twoNodes(kind: "memory" | "redis") {
	const prefix = `test-doors-${process.pid}-${randomBytes(3).toString("hex")}`;
	const cacher = kind === "memory" ? { type: "Memory", options: { ttl: 3600 } } : { type: "Redis", options: { prefix, ttl: 3600, redis: REDIS_URL } };
	const brokers = ["a", "b"].map(nodeID => new ServiceBroker({ nodeID, logger: false, cacher: cacher as never }));
	// A cacher not connected yet is bypassed: the cases would not reach Redis.
	for (const broker of brokers) while (broker.cacher!.connected === false) await new Promise(r => setTimeout(r, 10));
	const announced: { deliver: (() => void)[]; late: boolean } = { deliver: [], late: false };
	const caches: DoorCache[] = [];
	for (const [i, broker] of brokers.entries()) {
		caches.push(
			new DoorCache(broker, patterns => {
				const deliver = () => caches[1 - i].cleanHere(patterns);
				if (announced.late) announced.deliver.push(deliver);
				else deliver();
			})
		);
	}
	return {
		a: caches[0],
		b: caches[1],
		announced,
		async close() {
			if (kind === "redis") await brokers[0].cacher!.clean("*");
			for (const cache of caches) cache.close();
			for (const broker of brokers) await broker.cacher!.close();
		}
	};
}

for (const kind of ["memory", "redis"] as const) {
	describe(`cached doors across two nodes (${kind})`, () => {
		let skip: string | false = false;
		let nodes: Awaited<ReturnType<typeof twoNodes>>;
		const door = DOORS.membership("g".repeat(24), "u".repeat(24));
		before(async () => {
			skip = kind === "redis" ? await redisSkipReason(REDIS_URL) : false;
			if (!skip) nodes = await twoNodes(kind);
		});
		after(() => nodes?.close());

		test("an answer read before a clean on the other node is not cached; one read after it is", async t => {
			if (skip) return t.skip(skip);
			const { a, b } = nodes;
			let stored = "member";
			const slow = gate();
			const reading = b.read(door, async () => {
				const answer = stored;
				await slow.wait;
				return answer;
			});
			await new Promise(r => setTimeout(r, 20));
			stored = "gone";
			await a.clean([door.guard]);
			slow.open();
			assert.equal(await reading, "member", "the read in flight answers what it read");
			let loads = 0;
			const load = async () => (loads++, stored);
			assert.equal(await b.read(door, load), "gone", "nothing stale was cached");
			assert.equal(await b.read(door, load), "gone");
			assert.equal(loads, 1, "the fresh answer is cached");
		});

		test("an answer cached before the clean reached this node is deleted by it", async t => {
			if (skip) return t.skip(skip);
			const { a, b, announced } = nodes;
			let stored = "member";
			await a.clean([door.guard]);
			assert.equal(await b.read(door, async () => stored), "member");
			announced.late = true;
			stored = "gone";
			await a.clean([door.guard]);
			announced.late = false;
			announced.deliver.splice(0).forEach(deliver => deliver());
			assert.equal(await b.read(door, async () => stored), "gone");
			assert.equal(await a.read(door, async () => stored), "gone");
		});
	});
}

/**
 * The removal racing a membership lookup that read the store before it: the lookup's answer must not be
 * cached after the removal's clean (it would let the removed member in for the cache's TTL).
 */
for (const kind of ["memory", "redis"] as const) {
	describe(`a membership lookup racing a removal (${kind} cacher)`, () => {
		let skip: string | false = false;
		const f = useTestApp(["alice", "bob"], async (): Promise<TestApp> => {
			skip = kind === "redis" ? await redisSkipReason(REDIS_URL) : false;
			const namespace = `test-doors-${process.pid}-${randomBytes(3).toString("hex")}`;
			return startTestApp(kind === "redis" && !skip ? { cacher: REDIS_URL, namespace } : {});
		});

		test("the removed member is out once the removal answers, whatever the lookup read before it", async t => {
			if (skip) return t.skip(skip);
			const [alice, bob] = f.users;
			const g = await f.group(alice, "Race", [bob]);
			await f.send(alice, g, "before");
			const groups = (f.app.broker.getLocalService("groups") as unknown as { db: { groups: Collection<GroupDoc> } }).db.groups;
			const findById = groups.findById;
			const entered = gate();
			const release = gate();
			let armed = true;
			// Bob's lookup (a cache miss) reads his membership, then waits in its read of the group until the removal is done.
			groups.findById = async function (this: Collection<GroupDoc>, id: string) {
				const doc = await findById.call(this, id);
				if (armed && id === g) {
					armed = false;
					entered.open();
					await release.wait;
				}
				return doc;
			};
			try {
				const bobReads = f.api(bob).get(`/api/messages/${g}`);
				await entered.wait;
				assert.equal((await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`)).status, 200);
				release.open();
				assert.equal((await bobReads).status, 200, "a read that began before the removal");
			} finally {
				groups.findById = findById;
			}
			assert.equal((await f.api(bob).get(`/api/messages/${g}`)).status, 404, "history");
			assert.equal((await f.api(bob).post("/api/messages", { groupId: g, content: "still in?" })).status, 404, "send");
			assert.equal((await f.api(bob).get(`/api/groups/${g}`)).status, 404, "the group");
			const cached = await f.app.broker.cacher!.get(DOORS.membership(g, bob.user.id).key);
			assert.ok(cached == null, `cached: ${JSON.stringify(cached)}`);
			if (kind === "redis") await f.app.broker.cacher!.clean("*");
		});
	});
}
