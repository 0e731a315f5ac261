import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MENTION_INDEX, mentionFields, unreadMentions, withMentionCounts } from "../../../services/messages/mention-counts.ts";
import { mayMentionAll, MAX_MENTIONED_NAMES, mentionTokens, resolveMentions, type MentionLookups } from "../../../services/messages/mentions.ts";
import type { MessageDoc } from "../../../services/messages/documents.ts";
import type { ConversationHead } from "../../../services/messages/heads.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";
import { messageDoc } from "./fixtures.ts";

describe("mention tokens", () => {
	test("text without an @ has none", () => {
		assert.equal(mentionTokens("hello world"), null);
		assert.equal(mentionTokens(""), null);
		assert.equal(mentionTokens("mail bob@example.com about it"), null, "an address mentions nobody");
		assert.equal(mentionTokens("@ alone, @x too short"), null);
	});

	test("names are found anywhere, lower-cased, distinct, in order; punctuation after them is not theirs", () => {
		assert.deepEqual(mentionTokens("@Bob, ask @carol.smith and (@dave_2)! @BOB again; @erin."), {
			usernames: ["bob", "carol.smith", "dave_2", "erin"],
			all: false,
			here: false
		});
		assert.deepEqual(mentionTokens("hey\n@alice-b:"), { usernames: ["alice-b"], all: false, here: false });
	});

	test("@all and @here are flags, not names", () => {
		assert.deepEqual(mentionTokens("@ALL look, @here too, @bob"), { usernames: ["bob"], all: true, here: true });
		assert.deepEqual(mentionTokens("@allison"), { usernames: ["allison"], all: false, here: false });
	});

	test("names in code are quoted, not called", () => {
		assert.equal(mentionTokens("run `npm i @scope/pkg` and\n```\n@bob\n```"), null);
		assert.deepEqual(mentionTokens("`@bob` @carol"), { usernames: ["carol"], all: false, here: false });
	});

	test("at most MAX_MENTIONED_NAMES names are looked up", () => {
		const text = Array.from({ length: MAX_MENTIONED_NAMES + 10 }, (_, i) => `@user${i}`).join(" ");
		assert.equal(mentionTokens(text)!.usernames.length, MAX_MENTIONED_NAMES);
	});
});

describe("who may mention everyone", () => {
	test("admins (default): owners and admins of groups; in direct conversations nobody", () => {
		assert.equal(mayMentionAll("admins", { role: "owner", groupType: "group" }), true);
		assert.equal(mayMentionAll("admins", { role: "admin", groupType: "group" }), true);
		assert.equal(mayMentionAll("admins", { role: "member", groupType: "group" }), false);
		assert.equal(mayMentionAll("admins", { role: "owner", groupType: "direct" }), false);
	});
	test("everyone and off", () => {
		assert.equal(mayMentionAll("everyone", { role: "member", groupType: "group" }), true);
		assert.equal(mayMentionAll("everyone", { role: "member", groupType: "direct" }), true);
		assert.equal(mayMentionAll("off", { role: "owner", groupType: "group" }), false);
	});
});

describe("resolving mentions", () => {
	const users: Record<string, string> = { alice: "u-alice", bob: "u-bob", carol: "u-carol", mallory: "u-mallory" };
	const calls: string[] = [];
	const lookups: MentionLookups = {
		async userIdsByName(names) {
			calls.push(`names:${names.join(",")}`);
			return names.flatMap(n => (users[n] ? [users[n]] : []));
		},
		async memberIds() {
			calls.push("members");
			return ["u-alice", "u-bob", "u-carol"];
		},
		async online(ids) {
			calls.push(`online:${ids.join(",")}`);
			return ids.filter(id => id === "u-carol" || id === "u-alice");
		}
	};

	test("members named, never the sender; unknown names and non-members are ignored", async () => {
		calls.length = 0;
		const resolved = await resolveMentions(mentionTokens("@bob @alice @mallory @nobody @BOB"), "u-alice", false, lookups);
		assert.deepEqual(resolved, { mentions: ["u-bob"], mentionsAll: false });
		assert.deepEqual(calls.sort(), ["members", "names:bob,alice,mallory,nobody"]);
	});

	test("@all and @here only when allowed; @here adds the members online then, not the sender", async () => {
		assert.deepEqual(await resolveMentions(mentionTokens("@all @here"), "u-alice", false, lookups), { mentions: [], mentionsAll: false });
		calls.length = 0;
		assert.deepEqual(await resolveMentions(mentionTokens("@all"), "u-alice", true, lookups), { mentions: [], mentionsAll: true });
		assert.deepEqual(calls, [], "@all alone needs no lookup");
		assert.deepEqual(await resolveMentions(mentionTokens("@here @bob"), "u-alice", true, lookups), { mentions: ["u-bob", "u-carol"], mentionsAll: false });
	});

	test("no tokens, no calls", async () => {
		calls.length = 0;
		assert.deepEqual(await resolveMentions(null, "u-alice", true, lookups), { mentions: [], mentionsAll: false });
		assert.deepEqual(calls, []);
	});
});

describe("unread mention counts", () => {
	test("after the read cursor, naming the viewer or @all, not the viewer's own, not deleted", async () => {
		const log = await memoryCollection<MessageDoc>("messages", [MENTION_INDEX]);
		const g = "g1";
		const mentioning = (seq: number, mentions: string[], all = false, extra: Partial<MessageDoc> = {}) =>
			log.insert(messageDoc(g, seq, { senderId: "u-alice", ...mentionFields(g, { mentions, mentionsAll: all }), ...extra }));
		await mentioning(1, ["u-bob"]);
		await mentioning(2, ["u-carol"]);
		await mentioning(3, [], true);
		await mentioning(4, ["u-bob", "u-carol"]);
		await mentioning(5, ["u-bob"], false, { deletedAt: new Date() });
		await mentioning(6, [], true, { senderId: "u-bob" });
		await log.insert(messageDoc(g, 7, { senderId: "u-alice" }));
		await log.insert(messageDoc("g2", 1, { senderId: "u-alice", ...mentionFields("g2", { mentions: ["u-bob"], mentionsAll: true }) }));

		assert.equal(await unreadMentions(log, g, "u-bob", 0), 3, "1, 3 and 4");
		assert.equal(await unreadMentions(log, g, "u-bob", 3), 1, "4");
		assert.equal(await unreadMentions(log, g, "u-carol", 0), 4, "2, 3, 4 and 6");
		assert.equal(await unreadMentions(log, g, "u-alice", 0), 1, "only @all of someone else");

		const head = (groupId: string, lastSeq: number, readSeq: number): ConversationHead => ({
			groupId,
			lastSeq,
			readSeq,
			deliveredSeq: readSeq,
			unreadFrom: null,
			lastMessage: null,
			lastActivityAt: null
		});
		const counted = await withMentionCounts(log, [head(g, 7, 2), head(g, 7, 7), head("g2", 1, 0)], "u-bob");
		assert.deepEqual(
			counted.map(h => h.mentionCount),
			[2, 0, 1]
		);
	});
});
