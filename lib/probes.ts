import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import { storageReady } from "../mixins/db.mixin.ts";
import { chatConfig } from "./config.ts";

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

export function health(broker: ServiceBroker) {
	return { status: "ok", nodeID: broker.nodeID, uptime: Math.round(process.uptime()), services: broker.services.map(service => service.name).filter(name => !name.startsWith("$")) };
}

/**
 * /health and /ready on their own port (PROBE_PORT), for nodes that serve no HTTP API: container
 * health checks and orchestrators probe every node the same way.
 */
export function startProbeServer(broker: ServiceBroker, port: number, host = "0.0.0.0"): Promise<Server> {
	const server = createServer(probeResponder(broker));
	return new Promise((resolve, reject) => {
		server.once("error", reject);
		server.listen(port, host, () => resolve(server));
	});
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
