import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createECDH, randomBytes } from "node:crypto";
import { ownerOf } from "../../../services/push/ownership.ts";
import { endpointProblem, keysProblem } from "../../../services/push/subscriptions.ts";

const rules = { endpointHosts: ["fcm.googleapis.com", "push.services.mozilla.com", "push.apple.com"], testEndpoints: ["http://127.0.0.1:4000"] };

describe("push subscriptions: what an endpoint may be", () => {
	test("https URLs of the browsers' push services, subdomains included", () => {
		for (const ok of [
			"https://fcm.googleapis.com/fcm/send/abc",
			"https://updates.push.services.mozilla.com/wpush/v2/x",
			"https://web.push.apple.com/QGx",
			"https://FCM.googleapis.com:443/fcm/send/abc"
		])
			assert.equal(endpointProblem(ok, rules), null, ok);
	});

	test("anything else is refused: http, other hosts, look-alikes, other ports, credentials, addresses", () => {
		for (const bad of [
			"http://fcm.googleapis.com/fcm/send/abc",
			"https://fcm.googleapis.com.evil.example/x",
			"https://evilfcm.googleapis.com.example/x",
			"https://notfcm.googleapis.co/x",
			"https://fcm.googleapis.com:8443/x",
			"https://a:b@fcm.googleapis.com/x",
			"https://127.0.0.1/x",
			"https://[::1]/x",
			"http://127.0.0.1:4001/x",
			"file:///etc/passwd",
			"nonsense"
		])
			assert.notEqual(endpointProblem(bad, rules), null, bad);
	});

	test("the test setting admits exactly its origins, http included", () => {
		assert.equal(endpointProblem("http://127.0.0.1:4000/device-1", rules), null);
		assert.notEqual(endpointProblem("http://127.0.0.1:4000/x", { ...rules, testEndpoints: [] }), null);
	});

	test("keys must be a P-256 point and a 16-byte secret", () => {
		const ecdh = createECDH("prime256v1");
		ecdh.generateKeys();
		const p256dh = ecdh.getPublicKey().toString("base64url");
		const auth = randomBytes(16).toString("base64url");
		assert.equal(keysProblem({ p256dh, auth }), null);
		assert.notEqual(keysProblem({ p256dh: ecdh.getPublicKey("base64url", "compressed"), auth }), null);
		assert.notEqual(keysProblem({ p256dh, auth: randomBytes(8).toString("base64url") }), null);
		assert.notEqual(keysProblem({ p256dh: "not base64!", auth }), null);
	});
});

describe("push ownership: one push node per conversation", () => {
	test("the same node for the same conversation whatever the order; spread over the nodes", () => {
		const nodes = ["node-a", "node-b", "node-c"];
		const owners = new Set<string>();
		for (let i = 0; i < 60; i++) {
			const id = i.toString(16).padStart(24, "0");
			const owner = ownerOf(id, nodes);
			assert.equal(owner, ownerOf(id, [...nodes].reverse()));
			owners.add(owner!);
		}
		assert.equal(owners.size, 3);
		assert.equal(ownerOf("g", []), undefined);
	});
});
