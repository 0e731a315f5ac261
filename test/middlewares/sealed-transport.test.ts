import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { clusterKey } from "../../lib/cluster-trust.ts";
import { MAX_PACKET_AGE_MS, openPacket, sealPacket } from "../../middlewares/sealed-transport.middleware.ts";

const key = clusterKey("cluster secret", "chat", "transport");
const packet = Buffer.from("a serialized REQ packet");
const now = 1_700_000_000_000;

describe("sealPacket / openPacket", () => {
	test("a sealed packet opens to the same bytes, and does not contain them", () => {
		const sealed = sealPacket(key, "chat", "REQ", packet, now);
		assert.ok(!sealed.includes(packet));
		assert.deepEqual(openPacket(key, "chat", "REQ", sealed, now + 1000), { ok: true, data: packet });
	});

	test("a fresh IV per packet: the same bytes seal differently", () => {
		const a = sealPacket(key, "chat", "REQ", packet, now);
		const b = sealPacket(key, "chat", "REQ", packet, now);
		assert.notDeepEqual(a.subarray(9, 21), b.subarray(9, 21));
		assert.notDeepEqual(a, b);
	});

	test("another key, namespace or packet type, or any flipped byte, does not open", () => {
		const sealed = sealPacket(key, "chat", "EVENT", packet, now);
		assert.deepEqual(openPacket(clusterKey("other secret", "chat", "transport"), "chat", "EVENT", sealed, now), { ok: false, reason: "forged" });
		assert.deepEqual(openPacket(key, "staging", "EVENT", sealed, now), { ok: false, reason: "forged" });
		assert.deepEqual(openPacket(key, "chat", "REQ", sealed, now), { ok: false, reason: "forged" });
		for (const at of [1, 5, 9, 20, 21, sealed.length - 17, sealed.length - 1]) {
			const flipped = Buffer.from(sealed);
			flipped[at] ^= 0x01;
			assert.equal(openPacket(key, "chat", "EVENT", flipped, now).ok, false, `byte ${at}`);
		}
	});

	test("plain or truncated packets are malformed", () => {
		assert.deepEqual(openPacket(key, "chat", "REQ", packet, now), { ok: false, reason: "malformed" });
		assert.deepEqual(openPacket(key, "chat", "REQ", sealPacket(key, "chat", "REQ", packet, now).subarray(0, 30), now), { ok: false, reason: "malformed" });
		assert.deepEqual(openPacket(key, "chat", "REQ", Buffer.alloc(0), now), { ok: false, reason: "malformed" });
	});

	test("a packet older (or newer) than the replay window is stale", () => {
		const sealed = sealPacket(key, "chat", "REQ", packet, now);
		assert.equal(openPacket(key, "chat", "REQ", sealed, now + MAX_PACKET_AGE_MS).ok, true);
		assert.deepEqual(openPacket(key, "chat", "REQ", sealed, now + MAX_PACKET_AGE_MS + 1), { ok: false, reason: "stale" });
		assert.deepEqual(openPacket(key, "chat", "REQ", sealed, now - MAX_PACKET_AGE_MS - 1), { ok: false, reason: "stale" });
	});
});
