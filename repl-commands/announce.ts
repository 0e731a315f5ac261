import type { ServiceBroker } from "moleculer";
import { callEveryNode, unreachableNote } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface Announced {
	delivered: number;
	nodes: number;
	unreachable: string[];
}

/** A system announcement (`system.announcement` on the clients) to everyone, or to one conversation's members. */
export async function announce(broker: ServiceBroker, text: string, groupId?: string): Promise<Announced> {
	const { answers: perNode, unreachable } = await callEveryNode<{ nodeID: string; delivered: number }>(
		broker,
		"socket.announce",
		groupId ? { text, groupId } : { text }
	);
	return { delivered: perNode.reduce((sum, n) => sum + n.delivered, 0), nodes: perNode.length, unreachable };
}

export function formatAnnounced(a: Announced): string {
	return [`Announcement delivered to ${a.delivered} socket(s) on ${a.nodes} node(s)`, ...unreachableNote(a.unreachable)].join("\n");
}

const command: ReplCommand = {
	command: "announce <text...>",
	description: "Send a system announcement to everyone, or with --group <id> to one conversation",
	options: [{ option: "-g, --group <groupId>", description: "only this conversation" }],
	parse(command) {
		const [words] = command.processedArgs as [string[]];
		command.params = { text: words.join(" "), options: command.opts() };
	},
	async action(broker, args) {
		const text = String(args.text ?? "");
		if (!text.trim()) throw new Error("Missing <text>");
		const options = (args.options ?? {}) as { group?: string };
		console.log(formatAnnounced(await announce(broker, text, options.group)));
	}
};

export default command;
