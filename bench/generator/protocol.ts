/** Messages between the scenario runner (main thread) and the load-generator workers. */

export type TargetKind = "ours" | "b1" | "b2";

/** The client that speaks socket.io to ours and B2 (the same for both): our raw one over `ws`, or socket.io-client. */
export type SocketIoClientKind = "raw" | "socketio";

/** The harness names the socket.io client in this variable; worker threads inherit the environment. */
export const SOCKETIO_CLIENT_ENV = "BENCH_SOCKETIO_CLIENT";

export interface ClientSpec {
	userId: string;
	url: string;
	/** socket.io handshake `auth` (ours: {token}; B2: {token, groups}); B1 puts it in the query string. */
	auth: Record<string, unknown>;
	groups: string[];
	/** Source address on the loopback (127.0.0.x) so that one address' ephemeral ports do not run out. */
	localAddress?: string;
	/** Which of the target's gateways `url` is, so that deliveries can be counted per gateway node. */
	gateway?: number;
}

export interface SenderSpec {
	/** Index into the worker's clients. */
	client: number;
	groupId: string;
}

export interface StepPlan {
	/** Every sender of this worker sends at `ratePerSender` messages/s, open loop. */
	senders: SenderSpec[];
	ratePerSender: number;
	startNs: string;
	durationMs: number;
	payloadBytes: number;
	/** Per-message latency of the last recipient (fan-out scenarios). */
	trackLastRecipient: boolean;
	/** Reconnect storm: at `atMs` into the step, drop this fraction of the worker's clients. */
	drop?: { atMs: number; fraction: number };
}

export type ToWorker =
	| { type: "connect"; target: TargetKind; clients: ClientSpec[]; concurrency: number }
	| { type: "start"; step: StepPlan }
	| { type: "verify"; lastSeq: Record<string, number>; baseSeq: Record<string, number>; settleMs: number }
	| { type: "close" };

export interface GeneratorLoad {
	/** Event-loop utilization of the worker thread over the step (0..1). */
	elu: number;
	eldP99Ms: number;
	eldMaxMs: number;
}

export interface Connected {
	type: "connected";
	ok: number;
	failed: number;
	errorSample: string[];
	connectHist: string;
	load: GeneratorLoad;
}

export interface StepDone {
	type: "stepDone";
	sent: number;
	acked: number;
	ackedInWindow: number;
	ackErrors: number;
	ackErrorSample: string[];
	ackHist: string;
	deliveryHist: string;
	deliveriesInWindow: number;
	deliveries: number;
	/** Deliveries by the gateway the recipient is connected to (ClientSpec.gateway). */
	deliveriesByGateway: number[];
	lastSeq: Record<string, number>;
	lastRecipient: [string, number][];
	load: GeneratorLoad;
	/** Reconnect storm only. */
	dropped?: number;
	recoveryHist?: string;
	reconnectFailures?: number;
}

export interface Verified {
	type: "verified";
	lost: number;
	duplicates: number;
	outOfOrder: number;
	syncOverlap: number;
	/** Recovery of dropped clients, when the step dropped some: how many are back and synced. */
	recovered?: number;
	recoveryHist?: string;
}

export type FromWorker = Connected | StepDone | Verified | { type: "error"; message: string };

/** The wire message, as far as the generator reads it. */
export interface WireMessage {
	groupId: string;
	seq: number;
	senderId: string;
	content: string;
}

export interface SyncItem {
	groupId: string;
	messages: WireMessage[];
	hasMore: boolean;
	lastSeq: number;
}
