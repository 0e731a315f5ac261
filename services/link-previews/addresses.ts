import { isIP } from "node:net";

/**
 * Which addresses the link-preview fetcher may connect to: public unicast only. Everything that reaches
 * this host, its network, the cloud's metadata endpoints or nowhere in particular is refused, and so are
 * IPv6 forms that carry an IPv4 address inside (mapped, NAT64, 6to4) when that address is refused.
 */

export type AddressRefusal =
	"invalid" | "unspecified" | "loopback" | "private" | "link-local" | "shared" | "multicast" | "reserved" | "documentation" | "metadata";

export type AddressVerdict = { ok: true } | { ok: false; reason: AddressRefusal };

type Range = [bytes: number[], prefixBits: number, reason: AddressRefusal];

const V4_RANGES: Range[] = [
	[[0, 0, 0, 0], 8, "unspecified"],
	[[10, 0, 0, 0], 8, "private"],
	[[100, 64, 0, 0], 10, "shared"], // carrier-grade NAT (Alibaba's metadata service lives here too)
	[[127, 0, 0, 0], 8, "loopback"],
	[[169, 254, 0, 0], 16, "link-local"], // 169.254.169.254: AWS, GCP, Azure metadata
	[[172, 16, 0, 0], 12, "private"],
	[[192, 0, 0, 0], 24, "reserved"], // IETF protocol assignments (192.0.0.192: Oracle Cloud metadata)
	[[192, 0, 2, 0], 24, "documentation"],
	[[192, 88, 99, 0], 24, "reserved"], // 6to4 relay anycast
	[[192, 168, 0, 0], 16, "private"],
	[[198, 18, 0, 0], 15, "reserved"], // benchmarking
	[[198, 51, 100, 0], 24, "documentation"],
	[[203, 0, 113, 0], 24, "documentation"],
	[[224, 0, 0, 0], 4, "multicast"],
	[[240, 0, 0, 0], 4, "reserved"], // and 255.255.255.255
	[[168, 63, 129, 16], 32, "metadata"] // Azure's host endpoint (a public address, reachable only from inside)
];

const V6_RANGES: Range[] = [
	[v6("::"), 128, "unspecified"],
	[v6("::1"), 128, "loopback"],
	[v6("::"), 96, "reserved"], // IPv4-compatible, deprecated
	[v6("64:ff9b:1::"), 48, "private"], // local-use NAT64
	[v6("100::"), 64, "reserved"], // discard-only
	[v6("2001::"), 23, "reserved"], // IETF protocol assignments, Teredo (2001::/32) included
	[v6("2001:db8::"), 32, "documentation"],
	[v6("3fff::"), 20, "documentation"],
	[v6("fc00::"), 7, "private"], // unique local (fd00:ec2::254: AWS metadata over IPv6)
	[v6("fe80::"), 10, "link-local"],
	[v6("fec0::"), 10, "private"], // site-local, deprecated
	[v6("ff00::"), 8, "multicast"]
];

/** IPv6 prefixes whose address carries an IPv4 one: where it ends up is what counts. */
const EMBEDDING: { prefix: number[]; bits: number; v4At: number }[] = [
	{ prefix: v6("::ffff:0:0"), bits: 96, v4At: 12 }, // IPv4-mapped
	{ prefix: v6("::ffff:0:0:0"), bits: 96, v4At: 12 }, // IPv4-translated
	{ prefix: v6("64:ff9b::"), bits: 96, v4At: 12 }, // NAT64, well-known prefix
	{ prefix: v6("2002::"), bits: 16, v4At: 2 } // 6to4
];

function v6(text: string): number[] {
	const bytes = parseV6(text);
	if (!bytes) throw new Error(`not an IPv6 address: ${text}`);
	return bytes;
}

function parseV4(text: string): number[] | null {
	if (isIP(text) !== 4) return null;
	return text.split(".").map(Number);
}

/** 16 bytes; null unless `text` is an IPv6 address (a zone id such as %eth0 is dropped). */
function parseV6(text: string): number[] | null {
	const address = text.replace(/%.*$/, "");
	if (isIP(address) !== 6) return null;
	let tail: number[] = [];
	let head = address;
	const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
	if (dotted) {
		tail = parseV4(dotted[1])!;
		head = address.slice(0, dotted.index + 1) + "0:0";
	}
	const [left, right] = head.includes("::") ? head.split("::") : [head, null];
	const groups = (part: string) => (part ? part.split(":").map(g => parseInt(g, 16)) : []);
	const leftGroups = groups(left);
	const rightGroups = right == null ? [] : groups(right);
	const fill = new Array(8 - leftGroups.length - rightGroups.length).fill(0);
	const all = right == null ? leftGroups : [...leftGroups, ...fill, ...rightGroups];
	const bytes = all.flatMap(g => [g >> 8, g & 0xff]);
	if (tail.length) bytes.splice(12, 4, ...tail);
	return bytes;
}

function inRange(bytes: number[], prefix: number[], bits: number): boolean {
	for (let i = 0; i < bits; i++) {
		const byte = i >> 3;
		const mask = 0x80 >> (i & 7);
		if ((bytes[byte] & mask) !== (prefix[byte] & mask)) return false;
	}
	return true;
}

function classifyV4(bytes: number[]): AddressVerdict {
	const hit = V4_RANGES.find(([prefix, bits]) => inRange(bytes, prefix, bits));
	return hit ? { ok: false, reason: hit[2] } : { ok: true };
}

/** Whether the fetcher may connect to `address` (an IPv4 or IPv6 literal), and if not, why. */
export function classifyAddress(address: string): AddressVerdict {
	const v4 = parseV4(address);
	if (v4) return classifyV4(v4);
	const bytes = parseV6(address);
	if (!bytes) return { ok: false, reason: "invalid" };
	const embedding = EMBEDDING.find(e => inRange(bytes, e.prefix, e.bits));
	if (embedding) return classifyV4(bytes.slice(embedding.v4At, embedding.v4At + 4));
	const hit = V6_RANGES.find(([prefix, bits]) => inRange(bytes, prefix, bits));
	if (hit) return { ok: false, reason: hit[2] };
	// Only global unicast (2000::/3) is routed on the internet; the rest is unassigned.
	return (bytes[0] & 0xe0) === 0x20 ? { ok: true } : { ok: false, reason: "reserved" };
}
