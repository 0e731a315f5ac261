import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NotificationTargets } from "../../../services/groups/notifications.ts";
import {
	EXCERPT_MAX,
	excerptOf,
	notificationOf,
	pushRecipients,
	wantsNotification,
	withoutMarkdown,
	type NotifiedMessage
} from "../../../services/push/policy.ts";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const later = "2026-01-01T13:00:00.000Z";
const earlier = "2026-01-01T11:00:00.000Z";

const message = (over: Partial<NotifiedMessage> = {}): NotifiedMessage => ({
	id: "m1",
	groupId: "g1",
	seq: 7,
	senderId: "alice",
	content: "hello",
	attachments: [],
	mentions: [],
	mentionsAll: false,
	system: null,
	...over
});

const targets: NotificationTargets = {
	groupId: "g1",
	type: "group",
	name: "Design",
	members: [
		{ userId: "alice", level: "all", mutedUntil: null },
		{ userId: "bob", level: "all", mutedUntil: null },
		{ userId: "carol", level: "mentions", mutedUntil: null },
		{ userId: "dave", level: "nothing", mutedUntil: null },
		{ userId: "erin", level: "all", mutedUntil: later },
		{ userId: "frank", level: "all", mutedUntil: earlier }
	]
};

describe("push policy: who hears of a message", () => {
	test("'all' members but the sender; a mute in the future silences, one in the past does not", () => {
		assert.deepEqual(pushRecipients(message(), targets, [], NOW), ["bob", "frank"]);
	});

	test("'mentions' members hear of messages that mention them or everyone", () => {
		assert.deepEqual(pushRecipients(message({ mentions: ["carol"] }), targets, [], NOW), ["bob", "carol", "frank"]);
		assert.deepEqual(pushRecipients(message({ mentionsAll: true }), targets, [], NOW), ["bob", "carol", "frank"]);
		assert.deepEqual(
			pushRecipients(message({ mentions: ["dave", "erin"] }), targets, [], NOW),
			["bob", "frank"],
			"'nothing' and muted stay silent when mentioned"
		);
	});

	test("never for system lines, never for your own messages, never while active on another device", () => {
		assert.deepEqual(pushRecipients(message({ system: { type: "member.left" } }), targets, [], NOW), []);
		assert.equal(wantsNotification({ userId: "alice", level: "all", mutedUntil: null }, message({ mentions: ["alice"] }), NOW), false);
		assert.deepEqual(pushRecipients(message(), targets, ["bob"], NOW), ["frank"]);
	});

	test("the notification: sender and conversation, an excerpt, one tag per conversation", () => {
		assert.deepEqual(notificationOf(message({ content: "  a\n\nb  " }), targets, "Alice"), {
			groupId: "g1",
			seq: 7,
			messageId: "m1",
			title: "Alice in Design",
			body: "a b",
			tag: "conversation:g1"
		});
		assert.equal(notificationOf(message(), { type: "direct", name: "" }, "Alice").title, "Alice");
	});

	test("excerpts are cut at a word and name attachments when there is no text", () => {
		const long = excerptOf({ content: "word ".repeat(100), attachments: [] });
		assert.ok(long.length <= EXCERPT_MAX + 1 && long.endsWith("…") && !long.includes("  "));
		assert.equal(excerptOf({ content: "x".repeat(300), attachments: [] }).length, EXCERPT_MAX + 1);
		assert.equal(excerptOf({ content: "", attachments: [{ name: "plan.pdf" }] }), "📎 plan.pdf");
		assert.equal(excerptOf({ content: "", attachments: [{ name: "a.png" }, { name: "b.png" }] }), "📎 a.png and 1 more");
	});
});

test("a notification's text is the message's words without its markdown markers", () => {
	assert.equal(
		excerptOf({ content: "Hi **team**, the new `build` is out:\n\n- faster start\n- *smaller* bundle\n> quoted ~~old~~", attachments: [] }),
		"Hi team, the new build is out: faster start smaller bundle quoted old"
	);
	assert.equal(withoutMarkdown("```\nnpm start\n```"), "\nnpm start\n");
	assert.equal(withoutMarkdown("snake_case_name and 2 * 3 * 4"), "snake_case_name and 2 * 3 * 4");
});
