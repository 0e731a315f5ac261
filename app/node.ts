import { ServiceBroker, type ServiceSchema } from "moleculer";
import { attachConfig, type ChatConfig, type ServiceName } from "../lib/config.ts";
import ApiService from "../services/api.service.ts";
import AssetsService from "../services/assets/assets.service.ts";
import AuthService from "../services/auth/auth.service.ts";
import GroupsService from "../services/groups/groups.service.ts";
import KafkaBridgeService from "../services/kafka-bridge/kafka-bridge.service.ts";
import LinkPreviewsService from "../services/link-previews/link-previews.service.ts";
import MessagesService from "../services/messages/messages.service.ts";
import PresenceService from "../services/presence/presence.service.ts";
import SearchService from "../services/search/search.service.ts";
import PushService from "../services/push/push.service.ts";
import SocketService from "../services/socket/socket.service.ts";
import UsersService from "../services/users.service.ts";
import { expectServices } from "../lib/probes.ts";
import { brokerOptions } from "./moleculer.config.ts";

/** Every service a node can run, by the name `SERVICES` uses. The only list of services in the code base. */
export const serviceSchemas: Record<ServiceName, ServiceSchema<any, any, any>> = {
	users: UsersService,
	auth: AuthService,
	groups: GroupsService,
	messages: MessagesService,
	search: SearchService,
	assets: AssetsService,
	"kafka-bridge": KafkaBridgeService,
	"link-previews": LinkPreviewsService,
	presence: PresenceService,
	push: PushService,
	api: ApiService,
	socket: SocketService
};

/**
 * What each service calls on other services to do its work: a node is ready (/ready) only once these are
 * reachable somewhere in the cluster, as well as its own (see README, "Who may call whom").
 */
export const serviceNeeds: Partial<Record<ServiceName, ServiceName[]>> = {
	api: ["auth", "users", "groups", "messages"],
	socket: ["auth", "groups", "messages", "presence"],
	auth: ["users"],
	groups: ["users", "messages"],
	messages: ["groups"],
	search: ["groups", "messages"],
	presence: ["groups"],
	push: ["groups", "presence", "users"],
	"kafka-bridge": ["messages", "groups"],
	"link-previews": ["messages", "assets"]
};

/** Services that run only when their configuration asks for them. */
function wanted(name: ServiceName, config: ChatConfig): boolean {
	if (name === "kafka-bridge") return config.kafka.brokers.length > 0;
	if (name === "link-previews") return config.linkPreviews.enabled;
	return true;
}

/** Creates a broker with the services this node runs (config.services) and starts it. */
export async function startNode(config: ChatConfig): Promise<ServiceBroker> {
	const broker = createNode(config);
	await broker.start();
	return broker;
}

/** The broker with this node's services, not started yet (so probes can answer while it starts). */
export function createNode(config: ChatConfig): ServiceBroker {
	const broker = new ServiceBroker(brokerOptions(config));
	attachConfig(broker, config);
	for (const name of config.services) {
		const schema = serviceSchemas[name];
		if (!schema || !wanted(name, config)) continue;
		broker.createService(schema);
		expectServices(broker, serviceNeeds[name] ?? []);
	}
	return broker;
}
