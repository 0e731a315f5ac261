import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RejectionTally, retryAfterMs, ServiceTime } from "../../lib/overload.ts";

describe("overload", () => {
	test("rejections are written as one line of counts per interval, nothing when there were none", async () => {
		const lines: string[] = [];
		const tally = new RejectionTally({ warn: (line: unknown) => lines.push(String(line)) }, 30);
		for (let i = 0; i < 1000; i++) tally.count("messages.send", "SERVICE_OVERLOADED");
		tally.count("messages.history", "timed out");
		assert.deepEqual(lines, [], "nothing is written per rejection");
		await new Promise(r => setTimeout(r, 80));
		assert.deepEqual(lines, ["Rejected or timed out in the last 0.03 s: messages.send SERVICE_OVERLOADED ×1000, messages.history timed out ×1"]);
		await new Promise(r => setTimeout(r, 80));
		tally.flush();
		assert.equal(lines.length, 1, "a quiet interval writes nothing");
	});

	test("retryAfterMs is about the drain time, within bounds, spread by up to half again", () => {
		assert.equal(
			retryAfterMs(300, 100, 5000, () => 0),
			300
		);
		assert.equal(
			retryAfterMs(300, 100, 5000, () => 1),
			450
		);
		assert.equal(
			retryAfterMs(1, 100, 5000, () => 0),
			100
		);
		assert.equal(
			retryAfterMs(60_000, 100, 5000, () => 0),
			5000
		);
	});

	test("service time follows what the work takes", () => {
		const time = new ServiceTime(5, 0.5);
		time.record(105);
		assert.equal(time.ms, 55);
		time.record(55);
		assert.equal(time.ms, 55);
	});
});
