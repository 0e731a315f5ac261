import type { ServiceBroker } from "moleculer";
import type { NodeOnlineUsers } from "../mixins/ops.mixin.ts";
import { callEveryNode, unreachableNote } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface OnlineUsers {
	count: number;
	users: { userId: string; username: string; nodes: string[]; sockets: number }[];
	unreachable: string[];
}

/** Users connected to any socket gateway now, with the nodes they are on. */
export async function onlineUsers(broker: ServiceBroker): Promise<OnlineUsers> {
	const { answers: perNode, unreachable } = await callEveryNode<NodeOnlineUsers>(broker, "socket.onlineUsers");
	const byUser = new Map<string, OnlineUsers["users"][number]>();
	for (const node of perNode) {
		for (const user of node.users) {
			const entry = byUser.get(user.userId) ?? { userId: user.userId, username: user.username, nodes: [], sockets: 0 };
			entry.nodes.push(node.nodeID);
			entry.sockets += user.sockets;
			byUser.set(user.userId, entry);
		}
	}
	const users = [...byUser.values()].sort((a, b) => a.username.localeCompare(b.username));
	return { count: users.length, users, unreachable };
}

export function formatOnlineUsers(online: OnlineUsers): string {
	const lines = online.users.map(u => `  ${u.username} (${u.userId})  ${u.sockets} socket(s) on ${u.nodes.join(", ")}`);
	return [`${online.count} user(s) online`, ...lines, ...unreachableNote(online.unreachable)].join("\n");
}

const command: ReplCommand = {
	command: "online",
	description: "Online users: count and list, with the socket nodes they are on",
	async action(broker) {
		console.log(formatOnlineUsers(await onlineUsers(broker)));
	}
};

export default command;
