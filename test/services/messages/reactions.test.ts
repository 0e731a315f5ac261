import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MessageDoc } from "../../../services/messages/documents.ts";
import {
	assertRoomFor,
	checkedEmoji,
	entryOf,
	REACTION_USERS_SHOWN,
	reactionId,
	viewerReactions,
	withEntry,
	type ReactionDoc
} from "../../../services/messages/reactions.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";
import { messageDoc, refusal } from "./fixtures.ts";

describe("reaction emoji", () => {
	test("one RGI emoji: plain, with a skin tone, ZWJ sequences, flags, keycaps", () => {
		for (const emoji of ["👍", "👍🏽", "❤️", "👩‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "1️⃣", "🧑🏿‍🚀", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]) assert.equal(checkedEmoji(emoji), emoji);
	});

	test("a symbol without its emoji presentation selector stands for the emoji", () => {
		assert.equal(checkedEmoji("❤"), "❤️");
		assert.equal(checkedEmoji("☺"), "☺️");
	});

	test("anything else is 422 naming emoji: text, two emoji, emoji with text, joiners, overlong, not a string", () => {
		for (const bad of ["", "a", "+1", ":thumbsup:", "👍👍", "👍 ", " 👍", "👍a", "\u200d", "1", "#", "👍".repeat(20), "x".repeat(500), 42, null, ["👍"]]) {
			assert.deepEqual(
				refusal(() => checkedEmoji(bad)),
				[422, "VALIDATION_ERROR"],
				JSON.stringify(bad)
			);
		}
	});
});

describe("the summary", () => {
	test("an entry is replaced in place, a new emoji goes last, an empty one goes", () => {
		const summary = [
			{ emoji: "👍", count: 1, userIds: ["a"] },
			{ emoji: "🎉", count: 2, userIds: ["a", "b"] }
		];
		assert.deepEqual(
			withEntry(summary, "👍", { emoji: "👍", count: 2, userIds: ["a", "c"] }).map(r => [r.emoji, r.count]),
			[
				["👍", 2],
				["🎉", 2]
			]
		);
		assert.deepEqual(
			withEntry(summary, "❤️", { emoji: "❤️", count: 1, userIds: ["c"] }).map(r => r.emoji),
			["👍", "🎉", "❤️"]
		);
		assert.deepEqual(
			withEntry(summary, "👍", null).map(r => r.emoji),
			["🎉"]
		);
		assert.equal(withEntry(summary, "❤️", null), summary);
	});

	test("the cap counts distinct emoji: another one beyond it is 422, one already there is fine", () => {
		const full = ["👍", "🎉"].map(emoji => ({ emoji, count: 1, userIds: ["a"] }));
		assert.deepEqual(
			refusal(() => assertRoomFor(full, "❤️", 2)),
			[422, "REACTION_LIMIT_REACHED"]
		);
		assert.equal(
			refusal(() => assertRoomFor(full, "👍", 2)),
			null
		);
	});

	test("an entry names the first users, oldest first, and counts them all", async () => {
		const reactions = await memoryCollection<ReactionDoc>("reactions", [{ fields: { messageId: 1 } }]);
		const t0 = Date.parse("2026-01-01T00:00:00Z");
		for (let i = 0; i < REACTION_USERS_SHOWN + 5; i++) {
			const userId = `u${String(i).padStart(2, "0")}`;
			await reactions.insert({
				_id: reactionId("m1", userId, "👍"),
				messageId: "m1",
				groupId: "g",
				userId,
				emoji: "👍",
				createdAt: new Date(t0 + (20 - i) * 1000)
			});
		}
		await reactions.insert({ _id: reactionId("m1", "u00", "🎉"), messageId: "m1", groupId: "g", userId: "u00", emoji: "🎉", createdAt: new Date(t0) });
		const entry = await entryOf(reactions, "m1", "👍");
		assert.equal(entry!.count, REACTION_USERS_SHOWN + 5);
		assert.deepEqual(entry!.userIds, ["u14", "u13", "u12", "u11", "u10", "u09", "u08", "u07", "u06", "u05"]);
		assert.equal(await entryOf(reactions, "m1", "❤️"), null);
	});
});

describe("the viewer's own reactions", () => {
	test("from the summary where it names the viewer; a lookup only for messages with more users than it names", async () => {
		const reactions = await memoryCollection<ReactionDoc>("reactions", [{ fields: { messageId: 1 } }]);
		const many = Array.from({ length: REACTION_USERS_SHOWN }, (_, i) => `u${i}`);
		const docs: MessageDoc[] = [
			messageDoc("g", 1, { reactions: [{ emoji: "👍", count: 1, userIds: ["me"] }] }),
			messageDoc("g", 2, { reactions: [{ emoji: "🎉", count: REACTION_USERS_SHOWN + 1, userIds: many }] }),
			messageDoc("g", 3, { reactions: [{ emoji: "❤️", count: 1, userIds: ["other"] }] }),
			messageDoc("g", 4)
		];
		await reactions.insert({
			_id: reactionId(docs[1]._id, "me", "🎉"),
			messageId: docs[1]._id,
			groupId: "g",
			userId: "me",
			emoji: "🎉",
			createdAt: new Date()
		});
		let lookups = 0;
		const counting = {
			find: (...args: Parameters<typeof reactions.find>) => {
				lookups++;
				return reactions.find(...args);
			}
		};
		const mine = await viewerReactions(counting, docs, "me");
		assert.deepEqual([...mine.get(docs[0]._id)!], ["👍"]);
		assert.deepEqual([...mine.get(docs[1]._id)!], ["🎉"]);
		assert.deepEqual([...mine.get(docs[2]._id)!], []);
		assert.equal(mine.has(docs[3]._id), false);
		assert.equal(lookups, 1);
		await viewerReactions(counting, [docs[0], docs[2], docs[3]], "me");
		assert.equal(lookups, 1, "a page whose summaries tell everything takes no lookup");
	});
});
