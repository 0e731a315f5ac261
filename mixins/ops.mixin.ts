import type { ServiceSchema } from "moleculer";

/**
 * Actions for operators (repl-commands/), mixed into the services whose state they read. `public`:
 * callable from any node of the cluster (the REPL node), never routed by the API gateway; `auth: "operator"`:
 * only with the REPL node's signed operator pass. The messages
 * service's own are in services/messages/ops.ts.
 */

export interface NodeOnlineUsers {
	nodeID: string;
	users: { userId: string; username: string; sockets: number }[];
}

/** Mixed into the socket service: who is connected to this node. */
export const SocketOpsActions: Partial<ServiceSchema> = {
	actions: {
		onlineUsers: {
			visibility: "public",
			auth: "operator",
			handler(this: any): NodeOnlineUsers {
				const byUser = new Map<string, { userId: string; username: string; sockets: number }>();
				for (const socket of this.io.sockets.sockets.values()) {
					const user = socket.data?.user as { id: string; username: string } | undefined;
					if (!user) continue;
					const entry = byUser.get(user.id) ?? { userId: user.id, username: user.username, sockets: 0 };
					entry.sockets++;
					byUser.set(user.id, entry);
				}
				return { nodeID: this.broker.nodeID, users: [...byUser.values()] };
			}
		}
	}
};
