import type { StreamEventType } from "../outbox.ts";

/** Topic names, without the configured prefix. */
export const TOPICS = { messages: "messages", receipts: "receipts", groups: "groups", inbound: "inbound" } as const;

export function topicOf(type: StreamEventType): (typeof TOPICS)[keyof typeof TOPICS] {
	if (type === "message.created" || type === "message.deleted") return TOPICS.messages;
	if (type === "message.delivered" || type === "message.seen") return TOPICS.receipts;
	return TOPICS.groups;
}
