import type { StreamEventType } from "../../lib/outbox.ts";

/** Topic names, without the configured prefix. */
export const TOPICS = { messages: "messages", receipts: "receipts", groups: "groups", inbound: "inbound" } as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

/** A Record, so that a new event type does not compile until it has a topic. */
const TOPIC_OF: Record<StreamEventType, Topic> = {
	"message.created": TOPICS.messages,
	"message.deleted": TOPICS.messages,
	"message.updated": TOPICS.messages,
	"message.reactions": TOPICS.messages,
	"message.delivered": TOPICS.receipts,
	"message.seen": TOPICS.receipts,
	"group.created": TOPICS.groups,
	"group.updated": TOPICS.groups,
	"group.member.added": TOPICS.groups,
	"group.member.removed": TOPICS.groups
};

/** Every event type the outboxes record; the broker emits an event of the same name when one is recorded. */
export const STREAM_EVENT_TYPES = Object.keys(TOPIC_OF) as StreamEventType[];

export function topicOf(type: StreamEventType): Topic {
	return TOPIC_OF[type];
}
