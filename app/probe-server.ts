import { createServer, type Server } from "node:http";
import type { ServiceBroker } from "moleculer";
import { probeResponder } from "../lib/probes.ts";

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
