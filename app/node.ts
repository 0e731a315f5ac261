import { ServiceBroker, type ServiceSchema } from "moleculer";
import { attachConfig, type ChatConfig, type ServiceName } from "../lib/config.ts";
import ApiService from "../services/api.service.ts";
import AssetsService from "../services/assets/assets.service.ts";
import AuthService from "../services/auth.service.ts";
import GroupsService from "../services/groups/groups.service.ts";
import KafkaBridgeService from "../services/kafka-bridge/kafka-bridge.service.ts";
import MessagesService from "../services/messages/messages.service.ts";
import PresenceService from "../services/presence/presence.service.ts";
import SocketService from "../services/socket/socket.service.ts";
import UsersService from "../services/users.service.ts";
import { brokerOptions } from "./moleculer.config.ts";

/** Every service a node can run, by the name `SERVICES` uses. The only list of services in the code base. */
export const serviceSchemas: Record<ServiceName, ServiceSchema<any, any, any>> = {
	users: UsersService,
	auth: AuthService,
	groups: GroupsService,
	messages: MessagesService,
	assets: AssetsService,
	"kafka-bridge": KafkaBridgeService,
	presence: PresenceService,
	api: ApiService,
	socket: SocketService
};

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
