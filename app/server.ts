import type { Server } from "node:http";
import { ConfigError, loadConfig } from "../lib/config.ts";
import { createNode } from "./node.ts";
import { markDraining } from "../lib/probes.ts";
import { startProbeServer } from "./probe-server.ts";
import { guardSingleStore } from "../lib/single-store.ts";

/** Entry point of one node: embedded (everything, one process) by default; see README for cluster settings. */
async function main() {
	let config;
	try {
		config = loadConfig();
	} catch (err) {
		if (err instanceof ConfigError) {
			console.error(`Configuration error: ${err.message}`);
			process.exit(1);
		}
		throw err;
	}
	const broker = createNode(config);
	guardSingleStore(broker, config, message => {
		broker.logger.fatal(message);
		void broker.stop().finally(() => process.exit(1));
	});
	// Probes answer from the start: /health 200 (alive), /ready 503 until every service has started.
	const probes: Server | null = config.ops.probePort ? await startProbeServer(broker, config.ops.probePort, config.host) : null;
	try {
		await broker.start();
	} catch (err) {
		probes?.close();
		throw err;
	}
	const api = config.services.includes("api");
	broker.logger.info(api ? `Chat is up on http://localhost:${config.port}` : `Node ${broker.nodeID} is up (${config.services.join(", ")})`);

	/**
	 * Graceful shutdown: /ready turns 503, the node tells the cluster it has no services (so no new requests
	 * are routed here), services stop (the API closes its server, the socket gateway tells its clients to
	 * reconnect elsewhere) once the requests in flight have finished (tracking, SHUTDOWN_TIMEOUT), then it leaves.
	 */
	let stopping = false;
	const stop = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		broker.logger.info(`${signal}: stopping gracefully`);
		markDraining(broker);
		const force = setTimeout(() => {
			broker.logger.error("Shutdown took too long; exiting");
			process.exit(1);
		}, config.ops.shutdownTimeoutMs + 10_000).unref();
		try {
			// The socket gateway first: it hands its users to presence (a grace period to reconnect elsewhere),
			// which must still be running then; a broker stops all its services at once.
			const socket = broker.getLocalService("socket");
			if (socket) await broker.destroyService(socket);
			await broker.stop();
			probes?.close();
		} finally {
			clearTimeout(force);
			process.exit(0);
		}
	};
	process.on("SIGINT", () => void stop("SIGINT"));
	process.on("SIGTERM", () => void stop("SIGTERM"));
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
