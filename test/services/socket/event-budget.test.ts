import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryRateLimiter } from "../../../lib/rate-limiter.ts";
import { EventBudget, recordRejection, type RejectionWindow } from "../../../services/socket/event-budget.ts";

const limits = { eventsPerSecond: 1, eventBurst: 10, eventCosts: { "chat.sync": 5 }, maxSocketsPerUser: 2, floodRejections: 3, floodWindowMs: 1000 };

describe("socket event budget", () => {
	test("events cost their configured tokens; a refusal carries retryAfterMs", async () => {
		const budget = new EventBudget({ limiter: new MemoryRateLimiter({ perSecond: 1, burst: 10 }), limits, onLimiterError: () => {} });
		assert.equal(budget.costOf("chat.sync"), 5);
		assert.equal(budget.costOf("typing.start"), 1);
		await budget.charge("u1", "chat.sync");
		await budget.charge("u1", "chat.sync");
		await assert.rejects(
			budget.charge("u1", "typing.start"),
			(err: { code: number; data: { retryAfterMs: number } }) => err.code === 429 && err.data.retryAfterMs > 0
		);
		await budget.charge("u2", "chat.sync");
	});

	test("a limiter that cannot answer lets the event through and says so", async () => {
		const failures: unknown[] = [];
		const broken = { take: () => Promise.reject(new Error("redis away")), close: async () => {} };
		const budget = new EventBudget({ limiter: broken, limits, onLimiterError: err => failures.push(err) });
		await budget.charge("u1", "chat.sync");
		assert.equal(failures.length, 1);
	});

	test("flooding: the limit's worth of refusals within the window, counted afresh after it", () => {
		const socket: { rejections?: RejectionWindow } = {};
		assert.equal(recordRejection(socket, 0, limits), false);
		assert.equal(recordRejection(socket, 100, limits), false);
		assert.equal(recordRejection(socket, 200, limits), true);
		const later: { rejections?: RejectionWindow } = {};
		recordRejection(later, 0, limits);
		recordRejection(later, 500, limits);
		assert.equal(recordRejection(later, 1000, limits), false, "a new window");
	});
});
