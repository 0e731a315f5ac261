/** A record on the inbound topic: an integration posts `content` into a conversation as a bot user. */
export interface InboundPost {
	botUsername: string;
	groupId: string;
	content: string;
	clientMessageId?: string;
}

export type InboundParse = { ok: true; post: InboundPost } | { ok: false; reason: string };

/**
 * Shape checks only; messages.send validates the rest (ids, lengths, membership) like any other send.
 * A record without clientMessageId gets one from its position, so a redelivered record is stored once.
 */
export function parseInbound(value: Buffer | null, position: { partition: number; offset: string }): InboundParse {
	if (value == null || value.length === 0) return { ok: false, reason: "empty record" };
	let body: unknown;
	try {
		body = JSON.parse(value.toString("utf8"));
	} catch {
		return { ok: false, reason: "not JSON" };
	}
	if (body == null || typeof body !== "object" || Array.isArray(body)) return { ok: false, reason: "not a JSON object" };
	const { botUsername, groupId, content, clientMessageId } = body as Record<string, unknown>;
	if (typeof botUsername !== "string" || botUsername === "") return { ok: false, reason: "botUsername must be a non-empty string" };
	if (typeof groupId !== "string") return { ok: false, reason: "groupId must be a string" };
	if (typeof content !== "string") return { ok: false, reason: "content must be a string" };
	if (clientMessageId != null && typeof clientMessageId !== "string") return { ok: false, reason: "clientMessageId must be a string" };
	return {
		ok: true,
		post: { botUsername: botUsername.toLowerCase(), groupId, content, clientMessageId: clientMessageId ?? `kafka-${position.partition}-${position.offset}` }
	};
}
