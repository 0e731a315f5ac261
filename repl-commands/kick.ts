import type { ServiceBroker } from "moleculer";
import { argument, callEveryNode, resolveUser, unreachableNote } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface Kicked {
	userId: string;
	/** Sign-in sessions whose refresh tokens were revoked. */
	sessions: number;
	disconnected: number;
	nodes: string[];
	unreachable: string[];
}

/** What the user's app shows on its sign-in page. */
export const KICK_REASON = "You were signed out by an operator.";

/**
 * Ends every session of a user: their refresh tokens are revoked first (so no client can renew its
 * access), then every gateway tells their sockets why (`session.revoked`) and closes them.
 */
export async function disconnectUser(broker: ServiceBroker, idOrUsername: string, reason = KICK_REASON): Promise<Kicked> {
	const user = await resolveUser(broker, idOrUsername);
	const { sessions } = await broker.call<{ sessions: number }, object>("auth.revokeSessions", { userId: user.id });
	const { answers: perNode, unreachable } = await callEveryNode<{ nodeID: string; disconnected: number }>(broker, "socket.disconnectUser", {
		userId: user.id,
		reason
	});
	const hit = perNode.filter(n => n.disconnected > 0);
	return { userId: user.id, sessions, disconnected: hit.reduce((sum, n) => sum + n.disconnected, 0), nodes: hit.map(n => n.nodeID), unreachable };
}

export function formatKicked(k: Kicked): string {
	return [
		`Signed out ${k.userId}: ${k.sessions} session(s) revoked, ${k.disconnected} socket(s) disconnected${k.nodes.length ? ` on ${k.nodes.join(", ")}` : ""}`,
		...unreachableNote(k.unreachable)
	].join("\n");
}

const command: ReplCommand = {
	command: "kick <user>",
	alias: ["disconnect"],
	description: "Sign a user out (by id or username): revoke their sessions and disconnect them from every socket node",
	async action(broker, args) {
		console.log(formatKicked(await disconnectUser(broker, argument(args, "user"))));
	}
};

export default command;
