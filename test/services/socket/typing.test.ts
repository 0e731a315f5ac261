import { afterEach, beforeEach, describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import type { TypingEvent } from "../../../contract/presence.ts";
import { TypingTracker } from "../../../services/socket/typing.ts";

describe("TypingTracker", () => {
	let signals: TypingEvent[];
	let tracker: TypingTracker;

	beforeEach(() => {
		mock.timers.enable({ apis: ["setTimeout"] });
		signals = [];
		tracker = new TypingTracker({ throttleMs: 2000, expireMs: 6000, announce: signal => signals.push(signal) });
	});
	afterEach(() => {
		tracker.clear();
		mock.timers.reset();
	});

	test("announces a start once per throttle window; starts inside it only extend", () => {
		tracker.start("u1", "g1", "s1", 0);
		tracker.start("u1", "g1", "s1", 1000);
		assert.deepEqual(signals, [{ groupId: "g1", userId: "u1", typing: true }]);
		tracker.start("u1", "g1", "s1", 2000);
		assert.equal(signals.length, 2, "announced again once the window passed");
		tracker.start("u2", "g1", "s2", 2000);
		tracker.start("u1", "g2", "s1", 2000);
		assert.equal(signals.length, 4, "each user and conversation has its own window");
	});

	test("stop announces only when the user was typing there", () => {
		assert.equal(tracker.stop("u1", "g1"), false);
		assert.deepEqual(signals, []);
		tracker.start("u1", "g1", "s1", 0);
		assert.equal(tracker.stop("u1", "g1"), true);
		assert.deepEqual(signals.at(-1), { groupId: "g1", userId: "u1", typing: false });
		assert.equal(tracker.stop("u1", "g1"), false);
		assert.equal(signals.length, 2);
	});

	test("a start not refreshed stops by itself; a refresh restarts the clock", () => {
		tracker.start("u1", "g1", "s1", 0);
		mock.timers.tick(5000);
		tracker.start("u1", "g1", "s1", 5000);
		mock.timers.tick(5999);
		assert.equal(signals.filter(s => !s.typing).length, 0);
		mock.timers.tick(1);
		assert.deepEqual(signals.at(-1), { groupId: "g1", userId: "u1", typing: false });
	});

	test("stopSocket stops what that socket started, even after the user moved tabs", () => {
		tracker.start("u1", "g1", "s1", 0);
		tracker.start("u1", "g2", "s1", 0);
		tracker.start("u2", "g1", "s2", 0);
		// The same user now types in g2 from another tab: that one belongs to s3.
		tracker.start("u1", "g2", "s3", 100);
		tracker.stopSocket("s1");
		assert.deepEqual(
			signals.filter(s => !s.typing),
			[{ groupId: "g1", userId: "u1", typing: false }]
		);
		tracker.stopSocket("s3");
		assert.deepEqual(signals.filter(s => !s.typing).at(-1), { groupId: "g2", userId: "u1", typing: false });
		tracker.stopSocket("s-unknown");
		assert.equal(signals.filter(s => !s.typing).length, 2, "u2 keeps typing");
	});

	test("clear forgets everything without announcing, and no timer fires later", () => {
		tracker.start("u1", "g1", "s1", 0);
		tracker.clear();
		mock.timers.tick(10_000);
		assert.deepEqual(signals, [{ groupId: "g1", userId: "u1", typing: true }]);
		assert.equal(tracker.stop("u1", "g1"), false);
	});
});
