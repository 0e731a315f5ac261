/** An entry of the broker's service list (one per service and node). */
export interface ServiceEndpoint {
	name: string;
	nodeID?: string;
}

/** The bridge that publishes: the lowest nodeID among the available ones. Every node computes the same from its registry. */
export function leaderOf(services: readonly ServiceEndpoint[], serviceName: string): string | null {
	const nodeIDs = services.filter(s => s.name === serviceName && s.nodeID != null).map(s => s.nodeID!);
	return nodeIDs.sort()[0] ?? null;
}

export interface LeadershipOptions {
	registry: { getServiceList(opts: { onlyAvailable: boolean }): ServiceEndpoint[] };
	serviceName: string;
	nodeID: string;
	/** How long a starting node waits for the registry to learn the other bridges before it may lead (0 without a transporter). */
	settleMs: number;
}

/** Whether this node's bridge publishes, read from the registry each time: a leader that left is replaced at the next look. */
export class Leadership {
	private options: LeadershipOptions;
	private leadAfter: number;

	constructor(options: LeadershipOptions, now = Date.now()) {
		this.options = options;
		this.leadAfter = now + options.settleMs;
	}

	leader(): string | null {
		return leaderOf(this.options.registry.getServiceList({ onlyAvailable: true }), this.options.serviceName);
	}

	isLeader(now = Date.now()): boolean {
		return now >= this.leadAfter && this.leader() === this.options.nodeID;
	}
}
