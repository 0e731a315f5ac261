import type { ServiceSchema } from "moleculer";
import type { ServiceName } from "../lib/config.ts";
import ApiService from "./api.service.ts";
import AssetsService from "./assets.service.ts";
import AuthService from "./auth.service.ts";
import GroupsService from "./groups.service.ts";
import KafkaBridgeService from "./kafka-bridge.service.ts";
import MessagesService from "./messages.service.ts";
import PresenceService from "./presence.service.ts";
import SocketService from "./socket.service.ts";
import UsersService from "./users.service.ts";

/** Every service a node can run, by the name `SERVICES` uses. */
export const serviceSchemas: Partial<Record<ServiceName, ServiceSchema<any, any, any>>> = {
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
