import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import mongoose from "mongoose";
import { chatConfig, type StorageConfig } from "./config.ts";

export interface Readiness {
	status: "ready" | "not ready";
	nodeID: string;
	transporter: boolean;
	storage: boolean;
	draining: boolean;
}

const draining = new WeakSet<ServiceBroker>();

/** From now on the node reports not ready, so load balancers stop sending it new work while it drains. */
export function markDraining(broker: ServiceBroker): void {
	draining.add(broker);
}

/** Ready for traffic: connected to the cluster (when clustered), the store answers, and not shutting down. */
export function readiness(broker: ServiceBroker): Readiness {
	const transit = (broker as unknown as { transit?: { connected: boolean } }).transit;
	const transporter = transit ? transit.connected === true : true;
	const storage = storageReady(chatConfig(broker).storage);
	const isDraining = draining.has(broker);
	const ready = transporter && storage && !isDraining;
	return { status: ready ? "ready" : "not ready", nodeID: broker.nodeID, transporter, storage, draining: isDraining };
}

/** NeDB is in this process; MongoDB is reachable while mongoose's shared connection is open. */
function storageReady(storage: StorageConfig): boolean {
	return storage.kind !== "mongo" || mongoose.connection.readyState === 1;
}

export function health(broker: ServiceBroker) {
	return {
		status: "ok",
		nodeID: broker.nodeID,
		uptime: Math.round(process.uptime()),
		services: broker.services.map(service => service.name).filter(name => !name.startsWith("$"))
	};
}

/** Answers GET /health and GET /ready; anything else is a JSON 404. Also what a socket-only node's own port answers. */
export function probeResponder(broker: ServiceBroker) {
	return (req: IncomingMessage, res: ServerResponse) => {
		const url = (req.url ?? "/").split("?")[0];
		if (req.method !== "GET" || (url !== "/health" && url !== "/ready")) {
			res.writeHead(404, { "Content-Type": "application/json; charset=utf-8" });
			res.end(JSON.stringify({ name: "NotFoundError", message: "Not found", code: 404, type: "NOT_FOUND" }));
			return;
		}
		const body = url === "/health" ? health(broker) : readiness(broker);
		const status = "draining" in body && body.status !== "ready" ? 503 : 200;
		res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
	};
}
