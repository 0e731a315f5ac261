import type { ServiceBroker } from "moleculer";
import announce from "./announce.ts";
import conversation from "./conversation.ts";
import kick from "./kick.ts";
import online from "./online.ts";
import sessions from "./sessions.ts";

/** A moleculer-repl custom command; `args` holds the named arguments and `options`. */
export interface ReplCommand {
	command: string;
	description: string;
	alias?: string[];
	options?: { option: string; description: string }[];
	action(broker: ServiceBroker, args: Record<string, unknown> & { options?: Record<string, unknown> }): Promise<void>;
}

/** The operator commands, next to Moleculer's built-in ones (nodes, services, call, emit, metrics, …). */
export const replCommands: ReplCommand[] = [online, sessions, kick, announce, conversation];
