import type { ServiceBroker } from "moleculer";

/** Shared by the operator commands: which nodes run a service, and a user named by id or username. */

export function nodesRunning(broker: ServiceBroker, service: string): string[] {
	const list = broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as { name: string; nodeID: string }[];
	return [...new Set(list.filter(s => s.name === service).map(s => s.nodeID))].sort();
}

export interface EveryNode<T> {
	answers: T[];
	/** Nodes still listed but not answering in time (e.g. crashed, until the cluster notices). */
	unreachable: string[];
}

/** Calls `action` once on every node that runs its service (not load-balanced): per-node state such as sockets. */
export async function callEveryNode<T>(broker: ServiceBroker, action: string, params: object = {}, timeout = 5000): Promise<EveryNode<T>> {
	const service = action.slice(0, action.lastIndexOf("."));
	const nodeIDs = nodesRunning(broker, service);
	const settled = await Promise.allSettled(nodeIDs.map(nodeID => broker.call<T, object>(action, params, { nodeID, timeout, retries: 0 })));
	const answers: T[] = [];
	const unreachable: string[] = [];
	settled.forEach((result, i) => (result.status === "fulfilled" ? answers.push(result.value) : unreachable.push(nodeIDs[i])));
	return { answers, unreachable };
}

/** The line a command adds when some nodes did not answer. */
export function unreachableNote(unreachable: string[]): string[] {
	return unreachable.length ? [`(no answer from ${unreachable.join(", ")})`] : [];
}

export async function resolveUser(broker: ServiceBroker, idOrUsername: string): Promise<{ id: string; username: string }> {
	if (/^[a-f0-9]{24}$/.test(idOrUsername)) return { id: idOrUsername, username: idOrUsername };
	const user = await broker.call<{ id: string; username: string } | null, object>("users.byUsername", { username: idOrUsername });
	if (!user) throw new Error(`No user named "${idOrUsername}"`);
	return { id: user.id, username: user.username };
}

/** A command's argument, from moleculer-repl's parsed params. */
export function argument(args: Record<string, unknown>, name: string): string {
	const value = args[name];
	if (typeof value !== "string" || value === "") throw new Error(`Missing <${name}>`);
	return value;
}
