import type { ServiceBroker } from "moleculer";
import { callEveryNode, unreachableNote } from "./lookup.ts";
import type { ReplCommand } from "./index.ts";

export interface Announced {
	delivered: number;
	nodes: number;
	unreachable: string[];
}

/** A system announcement (`system.announcement` on the clients) to everyone, or to one conversation's members. */
export async function announce(broker: ServiceBroker, text: string, groupId?: string): Promise<Announced> {
	const { answers: perNode, unreachable } = await callEveryNode<{ nodeID: string; delivered: number }>(
		broker,
		"socket.announce",
		groupId ? { text, groupId } : { text }
	);
	return { delivered: perNode.reduce((sum, n) => sum + n.delivered, 0), nodes: perNode.length, unreachable };
}

export function formatAnnounced(a: Announced): string {
	return [`Announcement delivered to ${a.delivered} socket(s) on ${a.nodes} node(s)`, ...unreachableNote(a.unreachable)].join("\n");
}

const GROUP_OPTION = /^(?:-g|--group)$/;

/**
 * The REPL splits a line with string-argv, where an apostrophe opens a quote: `announce We're back` would lose it
 * and split the text. An announcement's words with an apostrophe and no double quote are quoted as a whole first;
 * `--group <id>` / `-g <id>` stay options wherever they are.
 */
export function quotingAnnouncement(line: string): string {
	const words = line.trim().split(/\s+/);
	if (words[0] !== "announce") return line;
	const text: string[] = [];
	const options: string[] = [];
	for (let i = 1; i < words.length; i++) {
		if (GROUP_OPTION.test(words[i]) && i + 1 < words.length) options.push(words[i], words[++i]);
		else if (words[i].startsWith("--group=")) options.push(words[i]);
		else text.push(words[i]);
	}
	// Without options the text keeps its spacing.
	const whole = options.length ? text.join(" ") : line.trim().slice("announce".length).trim();
	const quotedAlready = /^(["']).*\1$/s.test(whole);
	if (!text.length || !whole.includes("'") || whole.includes('"') || quotedAlready) return line;
	return ["announce", `"${whole}"`, ...options].join(" ");
}

/** Runs every line typed at `server` (the REPL moleculer-repl started) through quotingAnnouncement. */
export function keepingAnnouncementsWhole<S extends { eval: (cmd: string, ...rest: never[]) => unknown }>(server: S): S {
	const evaluate = server.eval;
	server.eval = ((cmd: string, ...rest: never[]) => evaluate.call(server, quotingAnnouncement(cmd), ...rest)) as S["eval"];
	return server;
}

const command: ReplCommand = {
	command: "announce <text...>",
	description: "Send a system announcement to everyone, or with --group <id> to one conversation",
	options: [{ option: "-g, --group <groupId>", description: "only this conversation" }],
	parse(command) {
		const [words] = command.processedArgs as [string[]];
		command.params = { text: words.join(" "), options: command.opts() };
	},
	async action(broker, args) {
		const text = String(args.text ?? "");
		if (!text.trim()) throw new Error("Missing <text>");
		const options = (args.options ?? {}) as { group?: string };
		console.log(formatAnnounced(await announce(broker, text, options.group)));
	}
};

export default command;
