import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from "../../lib/rate-limiter.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { closeAll, connectSocket, emitWithAck, redisSkipReason } from "../helpers/socket.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

function bucketContract(name: string, make: () => RateLimiter | null, skip: () => string | false) {
	test(`token bucket (${name}): burst, then the refill rate`, async t => {
		if (skip()) return t.skip(skip() as string);
		const limiter = make()!;
		try {
			const key = `k-${randomBytes(4).toString("hex")}`;
			const t0 = 1_000_000;
			for (let i = 0; i < 3; i++) assert.equal((await limiter.take(key, t0)).allowed, true, `burst token ${i}`);
			const denied = await limiter.take(key, t0);
			assert.equal(denied.allowed, false);
			assert.ok(denied.retryAfterMs > 0 && denied.retryAfterMs <= 500, `retry after ${denied.retryAfterMs}`);
			assert.equal((await limiter.take(key, t0 + 500)).allowed, true, "one token per 500 ms");
			assert.equal((await limiter.take(key, t0 + 600)).allowed, false);
			assert.equal((await limiter.take(`${key}-other`, t0)).allowed, true, "keys are independent");
		} finally {
			await limiter.close();
		}
	});
}

let redisSkip: string | false = "not probed";
before(async () => {
	redisSkip = await redisSkipReason(REDIS_URL);
});

bucketContract(
	"memory",
	() => new MemoryRateLimiter({ perSecond: 2, burst: 3 }),
	() => false
);
bucketContract(
	"redis",
	() => new RedisRateLimiter(REDIS_URL, `test-rate-${process.pid}-${randomBytes(4).toString("hex")}:`, { perSecond: 2, burst: 3 }),
	() => redisSkip
);

describe("socket sends are rate limited per user", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let groupId: string;

	before(async () => {
		app = await startTestApp({ rateLimit: { restPerMinute: 600, sendPerSecond: 1, sendBurst: 3 } });
		[alice, bob] = await Promise.all([registerUser(app, "rl"), registerUser(app, "rl")]);
		groupId = (await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body.id;
	});
	after(() => app.stop());

	test("over the limit the ack is 429 RATE_LIMITED and nothing is stored; other users are unaffected", { timeout: 30_000 }, async () => {
		const [a1, a2, b] = await Promise.all([
			connectSocket(app.url, alice.accessToken),
			connectSocket(app.url, alice.accessToken),
			connectSocket(app.url, bob.accessToken)
		]);
		const acks = await Promise.all(
			Array.from({ length: 6 }, (_, i) => emitWithAck(i % 2 ? a2 : a1, "chat.message.send", { groupId, content: `burst ${i}`, clientMessageId: `rl-${i}` }))
		);
		const ok = acks.filter(a => a.ok);
		const limited = acks.filter(a => !a.ok);
		assert.ok(ok.length >= 3 && ok.length <= 4, `burst of 3 (+1 refill at most): ${ok.length}`);
		for (const a of limited) {
			assert.equal(a.error!.code, 429);
			assert.equal(a.error!.type, "RATE_LIMITED");
			assert.ok(a.error!.data.retryAfterMs > 0);
		}
		const history = await client(app, alice.accessToken).get(`/api/messages/${groupId}?limit=100`);
		assert.equal(history.body.items.length, ok.length, "limited sends stored nothing");
		assert.equal((await emitWithAck(b, "chat.message.send", { groupId, content: "bob is fine" })).ok, true);
		assert.ok(a1.connected && a2.connected);
		closeAll(a1, a2, b);
	});
});
