import type { ServiceBroker } from "moleculer";
import type { ChatConfig } from "./config.ts";

/**
 * Services whose state is this node's own store. NeDB files (and memory) belong to one process, so two
 * nodes running one of them would each answer from their own data: users found on one and not the
 * other, a conversation's seqs given twice. Only MongoDB is shared.
 */
export const STORE_SERVICES = ["users", "auth", "groups", "messages", "assets", "push"] as const;

const isStoreService = (name: string) => (STORE_SERVICES as readonly string[]).includes(name);

/** What a node says of itself in the registry (broker metadata), for its peers' check. */
export interface StoreMetadata {
	store: ChatConfig["storage"]["kind"];
	startedAt: number;
}

export interface StoreNode extends Partial<StoreMetadata> {
	nodeID: string;
	services: string[];
}

export interface StoreConflict {
	peer: string;
	services: string[];
	/** This node is the younger of the two: it must go, the older one keeps the data it has served. */
	yields: boolean;
}

/** Peers running a store service this node runs too, where either of the two keeps its own store. */
export function storeConflicts(self: StoreNode & StoreMetadata, peers: StoreNode[]): StoreConflict[] {
	const mine = new Set(self.services.filter(isStoreService));
	const conflicts: StoreConflict[] = [];
	for (const peer of peers) {
		if (peer.nodeID === self.nodeID) continue;
		const shared = [...new Set(peer.services)].filter(s => mine.has(s)).sort();
		if (shared.length === 0 || (self.store === "mongo" && peer.store === "mongo")) continue;
		const peerStarted = peer.startedAt ?? 0;
		const yields = self.startedAt > peerStarted || (self.startedAt === peerStarted && self.nodeID > peer.nodeID);
		conflicts.push({ peer: peer.nodeID, services: shared, yields });
	}
	return conflicts;
}

export function conflictMessage(conflict: StoreConflict, store: string): string {
	const what = `Node ${conflict.peer} also runs ${conflict.services.join(", ")}, and this node keeps them in its own ${store} store`;
	return conflict.yields
		? `${what}: two copies of that data would answer differently. This node (the younger) stops. ` +
				"Run each of these services on one node only, or set MONGODB_URI on every node that runs them."
		: `${what}. That node is the younger and stops; run each of these services on one node only, or use MONGODB_URI.`;
}

/**
 * Watches the registry for a second node with this node's store services; `onYield` runs once when this
 * node is the one that must stop (the caller exits). Discovery is mutual, so a peer learns of this node
 * when this node learns of it: before either routes a request to the other.
 */
export function guardSingleStore(broker: ServiceBroker, config: ChatConfig, onYield: (message: string) => void): void {
	if (!config.transporter || !config.services.some(isStoreService)) return;
	const self = { nodeID: broker.nodeID, services: config.services, ...(broker.metadata as unknown as StoreMetadata) };
	const warned = new Set<string>();
	let yielded = false;
	const check = () => {
		if (yielded) return;
		const services = broker.registry.getServiceList({ onlyLocal: false, onlyAvailable: true, skipInternal: true }) as { name: string; nodeID: string }[];
		const byNode = new Map<string, string[]>();
		for (const s of services) byNode.set(s.nodeID, [...(byNode.get(s.nodeID) ?? []), s.name]);
		const peers = [...byNode].map(([nodeID, names]) => ({
			nodeID,
			services: names,
			...((broker.registry.nodes.get(nodeID)?.metadata ?? {}) as Partial<StoreMetadata>)
		}));
		for (const conflict of storeConflicts(self, peers)) {
			const message = conflictMessage(conflict, config.storage.kind === "mongo" ? "MongoDB (the peer does not)" : config.storage.kind);
			if (conflict.yields) {
				yielded = true;
				onYield(message);
				return;
			}
			if (!warned.has(conflict.peer)) broker.logger.error(message);
			warned.add(conflict.peer);
		}
	};
	broker.localBus.on("$services.changed", check);
	broker.localBus.on("$broker.started", check);
}
