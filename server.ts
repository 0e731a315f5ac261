import { ConfigError, loadConfig } from "./lib/config.ts";
import { startNode } from "./lib/node.ts";

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
	const broker = await startNode(config);
	const api = config.services.includes("api");
	broker.logger.info(
		api ? `Chat is up on http://localhost:${config.port}` : `Node ${broker.nodeID} is up (${config.services.join(", ")})`
	);

	let stopping = false;
	const stop = async (signal: string) => {
		if (stopping) return;
		stopping = true;
		broker.logger.info(`${signal}: stopping gracefully`);
		const force = setTimeout(() => process.exit(1), 20_000).unref();
		try {
			await broker.stop();
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
