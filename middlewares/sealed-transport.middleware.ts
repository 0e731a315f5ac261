import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Logger, Middleware, ServiceBroker } from "moleculer";
import { clusterKey } from "../lib/cluster-trust.ts";
import { chatConfig } from "../lib/config.ts";

/**
 * Every packet a node puts on the transporter is sealed with AES-256-GCM under a key derived from
 * CLUSTER_SECRET and the namespace; a packet that does not open is dropped before it is deserialized.
 * So a process on the transporter without the secret reads nothing (calls, events, discovery) and
 * nothing it sends is heard: it is not a node of this cluster.
 *
 * Sealed packet: version (1 byte) | sealedAt (8 bytes, ms) | IV (12 random bytes) | ciphertext | tag (16 bytes).
 * The additional data binds the namespace, the packet type and sealedAt, so a packet cannot be replayed as
 * another type, nor at all once it is older than MAX_PACKET_AGE_MS.
 */

const VERSION = 1;
const HEADER = 1 + 8 + 12;
const TAG = 16;
/** Replays of captured packets are refused after this; nodes' clocks must agree within it (NTP). */
export const MAX_PACKET_AGE_MS = 5 * 60_000;
/** Dropped packets are counted and reported at most this often, not one line per packet. */
const REPORT_EVERY_MS = 30_000;

function additionalData(namespace: string, cmd: string, header: Buffer): Buffer {
	return Buffer.concat([Buffer.from(`${namespace}\n${cmd}\n`), header.subarray(0, 9)]);
}

export function sealPacket(key: Buffer, namespace: string, cmd: string, data: Buffer, now = Date.now()): Buffer {
	const header = Buffer.alloc(HEADER);
	header.writeUInt8(VERSION, 0);
	header.writeBigUInt64BE(BigInt(now), 1);
	randomBytes(12).copy(header, 9);
	const cipher = createCipheriv("aes-256-gcm", key, header.subarray(9));
	cipher.setAAD(additionalData(namespace, cmd, header));
	return Buffer.concat([header, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
}

export type Opened = { ok: true; data: Buffer } | { ok: false; reason: "malformed" | "forged" | "stale" };

export function openPacket(key: Buffer, namespace: string, cmd: string, sealed: Buffer, now = Date.now()): Opened {
	if (!Buffer.isBuffer(sealed) || sealed.length < HEADER + TAG || sealed.readUInt8(0) !== VERSION) return { ok: false, reason: "malformed" };
	const header = sealed.subarray(0, HEADER);
	try {
		const decipher = createDecipheriv("aes-256-gcm", key, header.subarray(9));
		decipher.setAAD(additionalData(namespace, cmd, header));
		decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
		const data = Buffer.concat([decipher.update(sealed.subarray(HEADER, sealed.length - TAG)), decipher.final()]);
		if (Math.abs(now - Number(sealed.readBigUInt64BE(1))) > MAX_PACKET_AGE_MS) return { ok: false, reason: "stale" };
		return { ok: true, data };
	} catch {
		return { ok: false, reason: "forged" };
	}
}

/** Counts packets that did not open and logs a summary now and then. */
class DropReport {
	/** Since the start, by packet type (REQ, EVENT, INFO, …). */
	readonly total: Record<string, number> = {};
	private dropped = 0;
	private reasons = new Set<string>();
	private lastReport = 0;
	private readonly logger: () => Logger;

	constructor(logger: () => Logger) {
		this.logger = logger;
	}

	add(cmd: string, reason: string): void {
		this.total[cmd] = (this.total[cmd] ?? 0) + 1;
		this.dropped++;
		this.reasons.add(`${cmd} ${reason}`);
		const now = Date.now();
		if (now - this.lastReport < REPORT_EVERY_MS) return;
		const since = this.lastReport ? ` in the last ${Math.round((now - this.lastReport) / 1000)} s` : "";
		this.logger().warn(
			`Dropped ${this.dropped} packet(s) that do not authenticate${since} (${[...this.reasons].join(", ")}): ` +
				"something on the transporter does not have this cluster's CLUSTER_SECRET, or clocks disagree by more than 5 minutes"
		);
		this.dropped = 0;
		this.reasons.clear();
		this.lastReport = now;
	}
}

const reports = new WeakMap<ServiceBroker, DropReport>();

/** Packets this node dropped because they did not authenticate, by packet type. */
export function droppedPackets(broker: ServiceBroker): Readonly<Record<string, number>> {
	return reports.get(broker)?.total ?? {};
}

/** The transmit middleware; its hooks only run on a node with a transporter (an embedded node sends nothing). */
export function SealedTransport(): Middleware {
	let broker: ServiceBroker;
	let keyOf: { key: Buffer; namespace: string } | null = null;
	// The broker's ChatConfig is attached after the broker (and its transit) is built, before anything is sent.
	const sealing = () => (keyOf ??= { key: clusterKey(chatConfig(broker).clusterSecret, broker.namespace, "transport"), namespace: broker.namespace });
	const drops = new DropReport(() => broker.getLogger("sealed-transport"));

	return {
		name: "SealedTransport",
		created(created: ServiceBroker) {
			broker = created;
			reports.set(broker, drops);
		},
		transporterSend(next: (topic: string, data: Buffer, meta: { packet: { type: string } }) => Promise<void>) {
			return (topic: string, data: Buffer, meta: { packet: { type: string } }) => {
				const { key, namespace } = sealing();
				return next(topic, sealPacket(key, namespace, meta.packet.type, data), meta);
			};
		},
		transporterReceive(next: (cmd: string, data: Buffer, s?: unknown) => unknown) {
			return (cmd: string, data: Buffer, s?: unknown) => {
				const { key, namespace } = sealing();
				const opened = openPacket(key, namespace, cmd, data);
				if (!opened.ok) return drops.add(cmd, opened.reason);
				return next(cmd, opened.data, s);
			};
		}
	} as unknown as Middleware;
}
