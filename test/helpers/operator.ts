import type { CallingOptions, ServiceBroker } from "moleculer";
import { withOperatorPass } from "../../lib/cluster-trust.ts";

/**
 * The broker as an operator: its calls and emits carry a fresh operator pass, as the REPL node's do
 * (app/repl.ts OperatorPass), for tests that call operator actions from a node of the app.
 */
export function asOperator(broker: ServiceBroker): ServiceBroker {
	const pass = (opts?: CallingOptions) => withOperatorPass(broker, opts);
	return new Proxy(broker, {
		get(target, key, receiver) {
			if (key === "call") return (name: string, params?: unknown, opts?: CallingOptions) => target.call(name, params, pass(opts));
			if (key === "mcall")
				return (defs: ServiceBroker.MCallDefinition[], opts?: object) =>
					target.mcall(
						defs.map(d => ({ ...d, options: pass(d.options) })),
						opts
					);
			if (key === "emit" || key === "broadcast") return (event: string, payload?: unknown, opts?: object) => target[key](event, payload, pass(opts));
			return Reflect.get(target, key, receiver);
		}
	});
}
