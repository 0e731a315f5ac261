import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { catchUpRange, historyRange, pageOf } from "../../../services/messages/pages.ts";
import { messageDoc, messageLog } from "./fixtures.ts";

describe("pages", () => {
	test("history pages back from the end or from `before`, forward from `after`, clipped to the log", () => {
		assert.deepEqual(historyRange(30, { limit: 5 }), { from: 26, to: 30 });
		assert.deepEqual(historyRange(30, { before: 26, limit: 5 }), { from: 21, to: 25 });
		assert.deepEqual(historyRange(30, { before: 3, limit: 5 }), { from: 1, to: 2 });
		assert.deepEqual(historyRange(30, { before: 99, limit: 5 }), { from: 26, to: 30 });
		assert.deepEqual(historyRange(30, { after: 27, limit: 5 }), { from: 28, to: 30 });
		assert.deepEqual(historyRange(30, { after: 30, limit: 5 }), { from: 31, to: 30 }, "empty");
		assert.deepEqual(historyRange(0, { limit: 5 }), { from: 1, to: 0 }, "empty");
	});

	test("a page around a seq is centred on it, and moved inwards at either end so it stays full", () => {
		assert.deepEqual(historyRange(30, { around: 15, limit: 10 }), { from: 11, to: 20 });
		assert.deepEqual(historyRange(30, { around: 15, limit: 5 }), { from: 13, to: 17 });
		assert.deepEqual(historyRange(30, { around: 15, limit: 1 }), { from: 15, to: 15 });
		assert.deepEqual(historyRange(30, { around: 2, limit: 10 }), { from: 1, to: 10 });
		assert.deepEqual(historyRange(30, { around: 29, limit: 10 }), { from: 21, to: 30 });
		assert.deepEqual(historyRange(30, { around: 99, limit: 10 }), { from: 21, to: 30 }, "past the end: the latest page");
		assert.deepEqual(historyRange(4, { around: 2, limit: 10 }), { from: 1, to: 4 }, "a conversation shorter than a page");
		const empty = historyRange(0, { around: 1, limit: 10 });
		assert.ok(empty.to < empty.from, "an empty conversation has no page");
	});

	test("catching up reads at most a page after the client's cursor", () => {
		assert.deepEqual(catchUpRange(500, 10, 200), { from: 11, to: 210 });
		assert.deepEqual(catchUpRange(50, 10, 200), { from: 11, to: 50 });
		assert.deepEqual(catchUpRange(10, 10, 200), { from: 11, to: 10 }, "empty");
	});

	test("a page is one ordered range of one conversation", async () => {
		const log = await messageLog();
		for (const seq of [3, 1, 2, 4]) await log.insert(messageDoc("g", seq));
		await log.insert(messageDoc("h", 2));
		assert.deepEqual(
			(await pageOf(log, "g", { from: 2, to: 3 })).map(m => [m.groupId, m.seq]),
			[
				["g", 2],
				["g", 3]
			]
		);
		assert.deepEqual(await pageOf(log, "g", { from: 5, to: 4 }), []);
	});
});
