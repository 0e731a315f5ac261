import type { ServiceBroker } from "moleculer";
import { argument, callEveryNode, resolveUser, unreachableNote } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface Session {
	socketId: string;
	nodeID: string;
	connectedAt: string;
}

export interface UserSessions {
	userId: string;
	username: string;
	sessions: Session[];
	nodes: string[];
	unreachable: string[];
}

/** A user's open sockets on every gateway. */
export async function userSessions(broker: ServiceBroker, idOrUsername: string): Promise<UserSessions> {
	const user = await resolveUser(broker, idOrUsername);
	const { answers: perNode, unreachable } = await callEveryNode<Session[]>(broker, "socket.sessions", { userId: user.id });
	const sessions = perNode.flat().sort((a, b) => a.connectedAt.localeCompare(b.connectedAt));
	return { userId: user.id, username: user.username, sessions, nodes: [...new Set(sessions.map(s => s.nodeID))], unreachable };
}

export function formatUserSessions(s: UserSessions): string {
	const lines = s.sessions.map(x => `  ${x.socketId} on ${x.nodeID} since ${x.connectedAt}`);
	return [`${s.username} (${s.userId}): ${s.sessions.length} session(s) on ${s.nodes.length} node(s)`, ...lines, ...unreachableNote(s.unreachable)].join("\n");
}

const command: ReplCommand = {
	command: "sessions <user>",
	description: "A user's sessions (by id or username) and the nodes they are on",
	async action(broker, args) {
		console.log(formatUserSessions(await userSessions(broker, argument(args, "user"))));
	}
};

export default command;
