import { ServiceBroker } from "moleculer";
import { brokerOptions } from "../moleculer.config.ts";
import { serviceSchemas } from "../services/index.ts";
import { attachConfig, type ChatConfig, type ServiceName } from "./config.ts";

/** Services that run only when their configuration asks for them. */
function wanted(name: ServiceName, config: ChatConfig): boolean {
	if (name === "kafka-bridge") return config.kafka.brokers.length > 0;
	return true;
}

/** Creates a broker with the services this node runs (config.services) and starts it. */
export async function startNode(config: ChatConfig): Promise<ServiceBroker> {
	const broker = new ServiceBroker(brokerOptions(config));
	attachConfig(broker, config);
	for (const name of config.services) {
		const schema = serviceSchemas[name];
		if (schema && wanted(name, config)) broker.createService(schema);
	}
	await broker.start();
	return broker;
}
