import type { ServiceBroker } from "moleculer";
import { argument, callEveryNode, resolveUser, unreachableNote } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface Kicked {
	userId: string;
	disconnected: number;
	nodes: string[];
	unreachable: string[];
}

/** Closes every socket of a user on every gateway (their clients may reconnect if their token is still valid). */
export async function disconnectUser(broker: ServiceBroker, idOrUsername: string): Promise<Kicked> {
	const user = await resolveUser(broker, idOrUsername);
	const { answers: perNode, unreachable } = await callEveryNode<{ nodeID: string; disconnected: number }>(broker, "socket.disconnectUser", { userId: user.id });
	const hit = perNode.filter(n => n.disconnected > 0);
	return { userId: user.id, disconnected: hit.reduce((sum, n) => sum + n.disconnected, 0), nodes: hit.map(n => n.nodeID), unreachable };
}

export function formatKicked(k: Kicked): string {
	return [
		`Disconnected ${k.disconnected} socket(s) of ${k.userId}${k.nodes.length ? ` on ${k.nodes.join(", ")}` : ""}`,
		...unreachableNote(k.unreachable)
	].join("\n");
}

const command: ReplCommand = {
	command: "kick <user>",
	alias: ["disconnect"],
	description: "Disconnect a user (by id or username) from every socket node",
	async action(broker, args) {
		console.log(formatKicked(await disconnectUser(broker, argument(args, "user"))));
	}
};

export default command;
