import type { Logger, ServiceBroker } from "moleculer";
import type { ConnectionStatus } from "../../contract/presence.ts";
import type { ChatSocket } from "./chat-socket.ts";

/**
 * Tells the presence service about this node's connections, and renews this node's lease every heartbeat
 * (a node that stops renewing loses its users). Failures are logged: presence is never worth a lost socket.
 */
export class PresenceReporter {
	private broker: ServiceBroker;
	private logger: Logger;
	private leaseTimer: NodeJS.Timeout | null = null;
	private stopping = false;

	constructor(broker: ServiceBroker, logger: Logger) {
		this.broker = broker;
		this.logger = logger;
	}

	connected(socket: ChatSocket): void {
		this.report(socket, "presence.connect", { userId: socket.data.user.id, connId: socket.id, nodeID: this.broker.nodeID });
	}

	/** Not while the node stops: `dropNode` hands all its users the grace period at once. */
	disconnected(socket: ChatSocket): void {
		if (!this.stopping) this.report(socket, "presence.disconnect", { userId: socket.data.user.id, connId: socket.id });
	}

	statusChanged(socket: ChatSocket, status: ConnectionStatus): void {
		this.report(socket, "presence.setStatus", { userId: socket.data.user.id, connId: socket.id, status });
	}

	keepNodeAlive(heartbeatMs: number): void {
		const renew = async () => {
			if (this.stopping || this.broker.stopping) return;
			await this.broker
				.call("presence.nodeAlive", { nodeID: this.broker.nodeID })
				.catch(err => this.logger.warn("presence.nodeAlive failed", err?.message ?? err));
		};
		// Embedded, presence starts alongside this service.
		void this.broker.waitForServices("presence", 30_000).then(renew, () => undefined);
		this.leaseTimer = setInterval(() => void renew(), heartbeatMs);
		this.leaseTimer.unref();
	}

	/** From now on disconnects and heartbeats are not reported. */
	stop(): void {
		this.stopping = true;
		if (this.leaseTimer) clearInterval(this.leaseTimer);
	}

	/** A clean stop: this node's users get the grace period to reconnect elsewhere. */
	async dropNode(): Promise<void> {
		await this.broker.call("presence.dropNode", { nodeID: this.broker.nodeID }).catch(err => this.logger.warn("presence.dropNode failed", err?.message ?? err));
	}

	/** The calls of one socket run in order, so a quick disconnect never overtakes its connect. */
	private report(socket: ChatSocket, action: string, params: object): void {
		const previous = socket.data.presence ?? Promise.resolve();
		socket.data.presence = previous
			.then(() => this.broker.call(action, params))
			.catch((err: Error) => this.logger.warn(`${action} failed`, err?.message ?? err));
	}
}
