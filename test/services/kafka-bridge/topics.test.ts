import assert from "node:assert/strict";
import { test } from "node:test";
import { STREAM_EVENT_TYPES, topicOf } from "../../../services/kafka-bridge/topics.ts";

test("messages, receipts and group changes each have their topic", () => {
	const byTopic: Record<string, string[]> = {};
	for (const type of STREAM_EVENT_TYPES) (byTopic[topicOf(type)] ??= []).push(type);
	assert.deepEqual(byTopic, {
		messages: ["message.created", "message.deleted", "message.updated", "message.reactions"],
		receipts: ["message.delivered", "message.seen"],
		groups: ["group.created", "group.updated", "group.member.added", "group.member.removed"]
	});
});
