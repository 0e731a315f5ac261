import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertEditable, edited, historyOf, MAX_EDITS } from "../../../services/messages/edits.ts";
import { EXCERPT_LENGTH, excerptOf } from "../../../services/messages/replies.ts";
import { messageDoc, refusal } from "./fixtures.ts";

describe("edits", () => {
	const sentAt = new Date("2026-01-01T12:00:00Z");
	const doc = messageDoc("g1", 1, { senderId: "alice", createdAt: sentAt });
	const later = (seconds: number) => new Date(sentAt.getTime() + seconds * 1000);

	test("only the author, only while the message exists, only within the window when there is one", () => {
		const open = { windowSeconds: undefined };
		assert.equal(
			refusal(() => assertEditable(doc, "alice", open, later(10 ** 6))),
			null
		);
		assert.deepEqual(
			refusal(() => assertEditable(doc, "bob", open, later(1))),
			[403, "FORBIDDEN"]
		);
		assert.deepEqual(
			refusal(() => assertEditable({ ...doc, deletedAt: later(1) }, "alice", open, later(2))),
			[409, "MESSAGE_DELETED"]
		);
		const window = { windowSeconds: 900 };
		assert.equal(
			refusal(() => assertEditable(doc, "alice", window, later(900))),
			null
		);
		assert.deepEqual(
			refusal(() => assertEditable(doc, "alice", window, later(901))),
			[409, "EDIT_WINDOW_CLOSED"]
		);
	});

	test("each earlier text is kept with the time it was written, up to MAX_EDITS", () => {
		const once = edited(doc, "second", 5, later(60));
		const twice = edited(once, "third", 9, later(120));
		assert.deepEqual([twice.content, twice.version, twice.groupVersion, twice.editedAt], ["third", 9, `g1:${"9".padStart(12, "0")}`, later(120)]);
		assert.deepEqual(historyOf(twice).items, [
			{ content: "message 1", editedAt: sentAt.toISOString() },
			{ content: "second", editedAt: later(60).toISOString() }
		]);
		assert.deepEqual(historyOf({ ...twice, deletedAt: later(200) }).items, []);
		const full = { ...doc, edits: Array.from({ length: MAX_EDITS }, () => ({ content: "x", editedAt: sentAt })) };
		assert.deepEqual(
			refusal(() => assertEditable(full, "alice", { windowSeconds: undefined }, later(1))),
			[409, "EDIT_LIMIT_REACHED"]
		);
	});

	test("a reply's excerpt: the first characters, whole code points, null once the original is deleted", () => {
		assert.equal(excerptOf({ content: "short", deletedAt: null }), "short");
		const emoji = "😀".repeat(EXCERPT_LENGTH + 5);
		assert.equal(excerptOf({ content: emoji, deletedAt: null }), "😀".repeat(EXCERPT_LENGTH) + "…");
		assert.equal(excerptOf({ content: "gone", deletedAt: new Date() }), null);
	});
});
