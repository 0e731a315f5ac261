import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { backoffDelay, worthLogging } from "../../../services/kafka-bridge/backoff.ts";

describe("backoffDelay", () => {
	test("doubles from half a second per failure and stops at 30 s", () => {
		const middle = () => 0.5;
		assert.deepEqual(
			[1, 2, 3, 4, 5, 6, 7].map(n => backoffDelay(n, middle)),
			[500, 1000, 2000, 4000, 8000, 16_000, 30_000]
		);
		assert.equal(backoffDelay(1000, middle), 30_000);
	});

	test("jitter spreads a delay over ±25 %", () => {
		assert.equal(
			backoffDelay(2, () => 0),
			750
		);
		assert.equal(
			backoffDelay(2, () => 0.999999),
			1250
		);
		assert.equal(
			backoffDelay(50, () => 0),
			22_500
		);
		for (let i = 0; i < 100; i++) {
			const delay = backoffDelay(3);
			assert.ok(delay >= 1500 && delay <= 2500, `${delay}`);
		}
	});
});

test("a long outage logs its first failure and then every 20th", () => {
	const logged = Array.from({ length: 60 }, (_, i) => i + 1).filter(worthLogging);
	assert.deepEqual(logged, [1, 20, 40, 60]);
});
