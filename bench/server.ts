import { ConfigError, loadConfig } from "../lib/config.ts";
import { startNode } from "../app/node.ts";
import { answerHarness } from "./lib/server-ipc.ts";

/**
 * One node of the chat under benchmark: `server.ts` plus answers to the harness (memory after GC, CPU),
 * configured by the same environment. Started by the harness with --expose-gc.
 */
try {
	const config = loadConfig();
	const broker = await startNode(config);
	answerHarness({ port: config.port, socketPort: config.socketPort, nodeID: broker.nodeID }, () => broker.stop());
} catch (err) {
	console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
	process.exit(1);
}
