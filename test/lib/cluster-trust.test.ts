import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CallerSigner, clusterKey, OPERATOR_PASS_SECONDS } from "../../lib/cluster-trust.ts";

const now = 1_700_000_000;
const alice = { id: "a".repeat(24), username: "alice" };

describe("CallerSigner: the caller a gateway vouches for", () => {
	const signer = new CallerSigner("cluster secret of at least thirty-two characters", "chat");

	test("a signed user verifies until its exp, and only id and username come out", () => {
		const signed = signer.signUser(alice, now + 60);
		assert.deepEqual(Object.keys(signed).sort(), ["exp", "id", "sig", "username"]);
		assert.deepEqual(signer.verifyUser(signed, now), { ok: true, user: alice });
		assert.deepEqual(signer.verifyUser(signed, now + 60), { ok: false, reason: "expired" });
	});

	test("unsigned, tampered, re-dated or foreign signatures are forged; nothing at all is missing", () => {
		const signed = signer.signUser(alice, now + 60);
		assert.deepEqual(signer.verifyUser(undefined, now), { ok: false, reason: "missing" });
		assert.deepEqual(signer.verifyUser(alice, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, id: "b".repeat(24) }, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, username: "mallory" }, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, exp: now + 3600 }, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, sig: signed.sig.slice(1) }, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, exp: String(signed.exp) }, now), { ok: false, reason: "forged" });
		const otherSecret = new CallerSigner("another secret of at least thirty-two chars", "chat");
		const otherNamespace = new CallerSigner("cluster secret of at least thirty-two characters", "staging");
		assert.deepEqual(signer.verifyUser(otherSecret.signUser(alice, now + 60), now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser(otherNamespace.signUser(alice, now + 60), now), { ok: false, reason: "forged" });
	});

	test("fields cannot be shifted into each other", () => {
		const a = signer.signUser({ id: "x|y", username: "z" }, now + 60);
		assert.equal(signer.verifyUser({ ...a, id: "x", username: "y|z" }, now).ok, false);
	});

	test("operator passes: short-lived, and a user signature never passes as one (separate keys)", () => {
		const pass = signer.signOperator("repl-1", now);
		assert.equal(pass.exp, now + OPERATOR_PASS_SECONDS);
		assert.equal(signer.verifyOperator(pass, now + 1), true);
		assert.equal(signer.verifyOperator(pass, now + OPERATOR_PASS_SECONDS), false);
		assert.equal(signer.verifyOperator({ ...pass, node: "repl-2" }, now), false);
		assert.equal(signer.verifyOperator({ ...pass, exp: pass.exp + 600 }, now), false);
		assert.equal(signer.verifyOperator(undefined, now), false);
		const user = signer.signUser({ id: "operator", username: "repl-1" }, pass.exp);
		assert.equal(signer.verifyOperator({ node: "repl-1", exp: user.exp, sig: user.sig }, now), false);
		assert.equal(new CallerSigner("another secret of at least thirty-two chars", "chat").verifyOperator(pass, now), false);
	});
});

test("clusterKey: 32 bytes, one per purpose and namespace, stable for a secret", () => {
	const key = clusterKey("secret", "chat", "transport");
	assert.equal(key.length, 32);
	assert.deepEqual(clusterKey("secret", "chat", "transport"), key);
	assert.notDeepEqual(clusterKey("secret", "chat", "user"), key);
	assert.notDeepEqual(clusterKey("secret", "other", "transport"), key);
	assert.notDeepEqual(clusterKey("secret2", "chat", "transport"), key);
});
