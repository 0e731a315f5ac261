import type { Context, ServiceSchema } from "moleculer";
import { idParam, params } from "../lib/params.ts";

/**
 * Actions for operators (repl-commands/), mixed into the services whose state they read. `public`:
 * callable from any node of the cluster (the REPL node), never routed by the API gateway.
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

export interface ConversationMessageStats {
	groupId: string;
	lastSeq: number;
	/** Messages created since midnight UTC, deleted ones included. */
	messagesToday: number;
}

/** Mixed into the messages service: a conversation's counters, read from the store. */
export const MessagesOpsActions: Partial<ServiceSchema> = {
	actions: {
		conversationStats: {
			visibility: "public",
			params: params({ groupId: idParam }),
			async handler(this: any, ctx: Context<{ groupId: string }>): Promise<ConversationMessageStats> {
				const { groupId } = ctx.params;
				const midnight = new Date();
				midnight.setUTCHours(0, 0, 0, 0);
				const [lastSeq, messagesToday] = await Promise.all([
					this.storedLastSeq(groupId) as Promise<number>,
					this.db.messages.count({ groupId, createdAt: { $gte: midnight } }) as Promise<number>
				]);
				return { groupId, lastSeq, messagesToday };
			}
		}
	}
};
