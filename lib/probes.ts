import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import { GroupCommit } from "./storage/group-commit.ts";
import mongoose from "mongoose";
import { chatConfig, type StorageConfig } from "./config.ts";

export interface Readiness {
	status: "ready" | "not ready";
	nodeID: string;
	/** Every service of this node has started (its store loaded) and is registered. */
	started: boolean;
	transporter: boolean;
	storage: boolean;
	/** Services this node needs and cannot reach now (its own while they start, or other nodes'). */
	missing: string[];
	draining: boolean;
}

/** How long a client or load balancer should wait before asking a node that is not ready again. */
export const NOT_READY_RETRY_AFTER_SECONDS = 1;

const draining = new WeakSet<ServiceBroker>();
const expected = new WeakMap<ServiceBroker, string[]>();

/** From now on the node reports not ready, so load balancers stop sending it new work while it drains. */
export function markDraining(broker: ServiceBroker): void {
	draining.add(broker);
}

/**
 * The services this node must be able to call before it takes traffic: its own, and those they call on
 * other nodes (an API node is no use before auth, users, groups and messages are reachable somewhere).
 */
export function expectServices(broker: ServiceBroker, names: Iterable<string>): void {
	expected.set(broker, [...new Set([...(expected.get(broker) ?? []), ...names])].sort());
}

/**
 * Ready for traffic: every local service has started (NeDB files loaded, servers listening) and is
 * registered, every expected service is available on some node, connected to the cluster (when clustered),
 * the store answers, and not shutting down. Until then a request could meet "Service '…' is not registered".
 */
export function readiness(broker: ServiceBroker): Readiness {
	const transit = (broker as unknown as { transit?: { connected: boolean } }).transit;
	const transporter = transit ? transit.connected === true : true;
	const storage = storageReady(chatConfig(broker).storage);
	const started = broker.started === true && !broker.stopping;
	const missing = missingServices(broker);
	const isDraining = draining.has(broker);
	const ready = started && transporter && storage && missing.length === 0 && !isDraining;
	return { status: ready ? "ready" : "not ready", nodeID: broker.nodeID, started, transporter, storage, missing, draining: isDraining };
}

function missingServices(broker: ServiceBroker): string[] {
	const own = broker.services.map(service => service.name).filter(name => !name.startsWith("$"));
	const wanted = new Set([...own, ...(expected.get(broker) ?? [])]);
	const available = new Set((broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as { name: string }[]).map(service => service.name));
	return [...wanted].filter(name => !available.has(name)).sort();
}

/** NeDB is in this process, ready while its datafiles take writes; MongoDB while mongoose's shared connection is open. */
function storageReady(storage: StorageConfig): boolean {
	if (storage.kind === "nedb") return GroupCommit.failing.size === 0;
	return storage.kind !== "mongo" || mongoose.connection.readyState === 1;
}

/** Alive (liveness): 200 as long as the process answers, also while it starts; `started` tells which. */
export function health(broker: ServiceBroker) {
	return {
		status: "ok",
		nodeID: broker.nodeID,
		started: broker.started === true,
		uptime: Math.round(process.uptime()),
		services: broker.services.map(service => service.name).filter(name => !name.startsWith("$"))
	};
}

export type Probe = "health" | "ready";

/** Which probe a request asks for, or null. */
export function probeOf(req: IncomingMessage): Probe | null {
	if (req.method !== "GET" && req.method !== "HEAD") return null;
	const url = (req.url ?? "/").split("?")[0];
	return url === "/health" ? "health" : url === "/ready" ? "ready" : null;
}

/** Writes a probe's answer: /ready is 503 with Retry-After until the node is ready. */
export function answerProbe(broker: ServiceBroker, probe: Probe, res: ServerResponse): void {
	const body = probe === "health" ? health(broker) : readiness(broker);
	const headers: Record<string, string> = { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store" };
	const ready = probe === "health" || (body as Readiness).status === "ready";
	if (!ready) headers["Retry-After"] = String(NOT_READY_RETRY_AFTER_SECONDS);
	res.writeHead(ready ? 200 : 503, headers).end(JSON.stringify(body));
}

/** Answers GET /health and GET /ready; anything else is a JSON 404. Also what a socket-only node's own port answers. */
export function probeResponder(broker: ServiceBroker) {
	return (req: IncomingMessage, res: ServerResponse) => {
		const probe = probeOf(req);
		if (!probe) {
			res.writeHead(404, { "Content-Type": "application/json; charset=utf-8" });
			res.end(JSON.stringify({ name: "NotFoundError", message: "Not found", code: 404, type: "NOT_FOUND" }));
			return;
		}
		answerProbe(broker, probe, res);
	};
}
