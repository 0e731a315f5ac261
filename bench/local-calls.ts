import { ServiceBroker, type BrokerOptions } from "moleculer";
import { brokerOptions } from "../app/moleculer.config.ts";
import { attachConfig, loadConfig } from "../lib/config.ts";

/**
 * What one local broker.call costs in embedded mode: an action with nothing to do, through this node's full
 * middleware list (app/moleculer.config.ts) and through a broker without any, next to a plain async call.
 *
 *   node bench/local-calls.ts [calls]
 */
const calls = Number(process.argv[2] ?? 200_000);
const config = loadConfig({ ...process.env, DATA_DIR: ":memory:", LOG_LEVEL: "warn", JWT_SECRET: process.env.JWT_SECRET ?? "local-calls-bench-".repeat(3) });

async function perCallUs(call: () => Promise<unknown>): Promise<number> {
	for (let i = 0; i < 20_000; i++) await call();
	const started = process.hrtime.bigint();
	for (let i = 0; i < calls; i++) await call();
	return Number(process.hrtime.bigint() - started) / 1000 / calls;
}

async function brokerWith(options: BrokerOptions): Promise<ServiceBroker> {
	const broker = new ServiceBroker({ ...options, nodeID: "local-calls", transporter: null, logger: false });
	attachConfig(broker, config);
	broker.createService({ name: "bench", actions: { noop: { visibility: "public", handler: () => 1 } } });
	await broker.start();
	return broker;
}

const full = await brokerWith(brokerOptions(config));
const bare = await brokerWith({ internalMiddlewares: false, middlewares: [] });
const noop = async () => 1;
const rows = [
	["plain async function", await perCallUs(noop)],
	["broker.call, no middlewares", await perCallUs(() => bare.call("bench.noop"))],
	["broker.call, this node's middlewares", await perCallUs(() => full.call("bench.noop"))]
] as const;
for (const [what, us] of rows) console.log(`${what.padEnd(40)} ${us.toFixed(2)} µs/call`);
await Promise.all([full.stop(), bare.stop()]);
