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
	/** Replaces moleculer-repl's default parsing, which keeps one word per declared argument: sets `command.params`. */
	parse?(command: ParsedCommand): void;
	action(broker: ServiceBroker, args: Record<string, unknown> & { options?: Record<string, unknown> }): Promise<void>;
}

/** The commander command moleculer-repl hands `parse`, after commander parsed the line. */
export interface ParsedCommand {
	/** One entry per declared argument; a variadic one (`<text...>`) is the array of its words. */
	processedArgs: unknown[];
	opts(): Record<string, unknown>;
	params?: Record<string, unknown>;
}

/**
 * A failed command prints one line saying why (an unknown user, a conversation that does not exist, a
 * field the action refused), never a stack trace.
 */
export function reportingFailures(command: ReplCommand, print: (line: string) => void = line => console.error(line)): ReplCommand {
	return {
		...command,
		async action(broker, args) {
			try {
				await command.action(broker, args);
			} catch (err) {
				print(failureLine(err));
			}
		}
	};
}

export function failureLine(err: unknown): string {
	const e = err as { message?: string; data?: unknown };
	const problems = Array.isArray(e?.data) ? e.data.map((d: { message?: string }) => d?.message).filter(Boolean) : [];
	return `Error: ${problems.length ? problems.join(" ") : (e?.message ?? String(err))}`;
}

/** The operator commands, next to Moleculer's built-in ones (nodes, services, call, emit, metrics, …). */
export const replCommands: ReplCommand[] = [online, sessions, kick, announce, conversation].map(command => reportingFailures(command));
