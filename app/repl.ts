import { hostname } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ServiceBroker, type CallingOptions, type Middleware } from "moleculer";
import { withOperatorPass } from "../lib/cluster-trust.ts";
import { attachConfig, ConfigError, loadConfig, type ChatConfig } from "../lib/config.ts";
import { brokerOptions } from "./moleculer.config.ts";
import { keepingAnnouncementsWhole } from "../repl-commands/announce.ts";
import { replCommands } from "../repl-commands/index.ts";

/**
 * Everything this node calls or emits carries a fresh operator pass signed with the cluster secret, so
 * operator actions (`auth: "operator"`) and the `socket.*` operator events accept it, and a REPL without
 * the secret (which could not even open the cluster's packets) cannot act.
 */
export function OperatorPass(): Middleware {
	let broker: ServiceBroker;
	const signed = (next: (name: string, payload: unknown, opts?: CallingOptions) => unknown) => (name: string, payload: unknown, opts?: CallingOptions) =>
		next(name, payload, withOperatorPass(broker, opts));
	return {
		name: "OperatorPass",
		created(created: ServiceBroker) {
			broker = created;
		},
		call: signed,
		emit: signed,
		broadcast: signed
	} as unknown as Middleware;
}

/** The operator node: no services, the cluster's broker options plus the operator pass and our REPL commands. */
export function createReplBroker(config: ChatConfig, nodeID = `repl-${hostname()}-${process.pid}`): ServiceBroker {
	const options = brokerOptions({ ...config, services: [] });
	const broker = new ServiceBroker({
		...options,
		nodeID,
		middlewares: [...(options.middlewares ?? []), OperatorPass()],
		// moleculer-repl takes the command definitions as they are; the typings know a narrower shape.
		replOptions: { delimiter: `chat[${config.namespace}] $`, customCommands: replCommands as never }
	});
	attachConfig(broker, config);
	return broker;
}

/**
 * `npm run repl`: an operator console that joins the running cluster as a node without services
 * (same TRANSPORTER, NAMESPACE, CLUSTER_SECRET, CACHER/REDIS_URL as the nodes). Moleculer's own commands
 * (nodes, services, actions, call, emit, metrics, …) plus ours from repl-commands/ (type `help`).
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
	if (!config.transporter)
		console.warn("No TRANSPORTER set: this REPL node is alone (set TRANSPORTER, NAMESPACE and CLUSTER_SECRET as on the cluster's nodes).");
	const broker = createReplBroker(config);
	await broker.start();
	stopOnce(broker);
	keepingAnnouncementsWhole(await broker.repl());
}

/**
 * moleculer-repl stops the broker in its `exit` command and again when the input ends (Ctrl+D, or piped
 * input ending after `exit`); two stops at once close the AMQP channel under each other ("Channel ended, no
 * reply will be forthcoming" with amqplib's stack). The second waits for the first instead.
 */
function stopOnce(broker: ServiceBroker): void {
	const stop = broker.stop.bind(broker);
	let stopping: Promise<void> | undefined;
	broker.stop = () => (stopping ??= stop());
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
	main().catch(err => {
		console.error(err);
		process.exit(1);
	});
}
