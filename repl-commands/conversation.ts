import type { ServiceBroker } from "moleculer";
import type { ConversationMessageStats } from "../services/messages/ops.ts";
import { argument } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface ConversationStats extends ConversationMessageStats {
	members: number;
}

/** A conversation's members, last seq and messages today. */
export async function conversationStats(broker: ServiceBroker, groupId: string): Promise<ConversationStats> {
	const [memberIds, messages] = await Promise.all([
		broker.call<string[], object>("groups.memberIds", { groupId }),
		broker.call<ConversationMessageStats, object>("messages.conversationStats", { groupId })
	]);
	// groups.memberIds answers [] for an unknown id; a conversation everyone has left is as gone (nobody can read it).
	if (memberIds.length === 0) throw new Error(`No conversation ${groupId}`);
	return { ...messages, members: memberIds.length };
}

export function formatConversationStats(s: ConversationStats): string {
	return `Conversation ${s.groupId}: ${s.members} member(s), last seq ${s.lastSeq}, ${s.messagesToday} message(s) today (UTC)`;
}

const command: ReplCommand = {
	command: "conversation <groupId>",
	alias: ["conv"],
	description: "A conversation's stats: members, last seq, messages today",
	async action(broker, args) {
		console.log(formatConversationStats(await conversationStats(broker, argument(args, "groupId"))));
	}
};

export default command;
