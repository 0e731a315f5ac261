import { hostname } from "node:os";
import { ServiceBroker } from "moleculer";
import { attachConfig, ConfigError, loadConfig } from "../lib/config.ts";
import { brokerOptions } from "./moleculer.config.ts";
import { replCommands } from "../repl-commands/index.ts";

/**
 * `npm run repl`: an operator console that joins the running cluster as a node without services
 * (same TRANSPORTER, NAMESPACE, CACHER/REDIS_URL as the nodes). Moleculer's own commands (nodes,
 * services, actions, call, emit, metrics, …) plus ours from repl-commands/ (type `help`).
 */
async function main() {
	let config;
	try {
		config = loadConfig({ LOG_LEVEL: "warn", ...process.env, SERVICES: "all", METRICS_PORT: "", PROBE_PORT: "" });
	} catch (err) {
		if (err instanceof ConfigError) {
			console.error(`Configuration error: ${err.message}`);
			process.exit(1);
		}
		throw err;
	}
	if (!config.transporter) console.warn("No TRANSPORTER set: this REPL node is alone (set TRANSPORTER and NAMESPACE as on the cluster's nodes).");
	const broker = new ServiceBroker({
		...brokerOptions({ ...config, services: [] }),
		nodeID: `repl-${hostname()}-${process.pid}`,
		// moleculer-repl takes the command definitions as they are; the typings know a narrower shape.
		replOptions: { delimiter: `chat[${config.namespace}] $`, customCommands: replCommands as never }
	});
	attachConfig(broker, config);
	await broker.start();
	await broker.repl();
}

main().catch(err => {
	console.error(err);
	process.exit(1);
});
