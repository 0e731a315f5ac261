import assert from "node:assert/strict";
import { describe, test } from "node:test";
import jwt from "jsonwebtoken";
import { AccessTokens } from "../../../services/auth/access-tokens.ts";

const SECRET = "a-test-secret-that-is-long-enough-for-hs256";
const alice = { id: "a".repeat(24), username: "alice" };
const bob = { id: "b".repeat(24), username: "bob" };

describe("AccessTokens", () => {
	test("a signed token verifies to its user and expiry", () => {
		const tokens = new AccessTokens(SECRET, 900);
		const now = Date.now();
		const verified = tokens.verify(tokens.sign(alice, "session-a", now), now);
		assert.equal(verified.id, alice.id);
		assert.equal(verified.username, "alice");
		assert.ok(Math.abs(verified.exp - (Math.floor(now / 1000) + 900)) <= 1);
	});

	test("another secret, another token type, garbage and expired tokens are refused with their own types", () => {
		const tokens = new AccessTokens(SECRET, 900);
		assert.throws(() => tokens.verify(new AccessTokens("another-secret-another-secret-123", 900).sign(alice, "session-a")), {
			type: "INVALID_TOKEN",
			code: 401
		});
		assert.throws(() => tokens.verify(jwt.sign({ typ: "refresh" }, SECRET, { subject: alice.id })), { type: "INVALID_TOKEN" });
		assert.throws(() => tokens.verify("not.a.token"), { type: "INVALID_TOKEN" });
		const expired = jwt.sign({ typ: "access", username: "alice", exp: Math.floor(Date.now() / 1000) - 10 }, SECRET, { subject: alice.id });
		assert.throws(() => tokens.verify(expired), { type: "TOKEN_EXPIRED" });
	});

	test("a revocation refuses the user's tokens issued until then, not later ones nor other users'", () => {
		const tokens = new AccessTokens(SECRET, 900);
		const t0 = Date.now();
		const before = tokens.sign(alice, "session-a", t0);
		const bobs = tokens.sign(bob, "session-b", t0);
		tokens.revoke(alice.id, t0 + 5, t0 + 5);
		assert.throws(() => tokens.verify(before, t0 + 10), { type: "SESSION_REVOKED", code: 401 });
		// Signed in again a moment later, within the same second: that token works.
		assert.equal(tokens.verify(tokens.sign(alice, "session-a2", t0 + 6), t0 + 10).id, alice.id);
		assert.equal(tokens.verify(bobs, t0 + 10).id, bob.id);
	});

	test("an ended session refuses every token of that sign-in, not the user's other sign-ins; tokens from before sessions had ids still work", () => {
		const tokens = new AccessTokens(SECRET, 900);
		const t0 = Date.now();
		const laptop = tokens.sign(alice, "laptop", t0);
		const phone = tokens.sign(alice, "phone", t0);
		assert.equal(tokens.verify(laptop, t0).sessionId, "laptop");
		tokens.endSession("laptop", t0 + 5, t0 + 5);
		assert.throws(() => tokens.verify(laptop, t0 + 10), { type: "SESSION_REVOKED", code: 401 });
		// Even one issued after the end (a refresh that raced the logout).
		assert.throws(() => tokens.verify(tokens.sign(alice, "laptop", t0 + 20), t0 + 30), { type: "SESSION_REVOKED" });
		assert.equal(tokens.verify(phone, t0 + 10).sessionId, "phone");
		const old = jwt.sign({ typ: "access", username: "alice", at: t0 }, SECRET, { subject: alice.id, expiresIn: 900 });
		assert.deepEqual(Object.keys(tokens.verify(old, t0 + 10)).sort(), ["exp", "id", "issuedAt", "username"]);
		// An end older than a token's lifetime is not kept: no token of it can still be valid.
		tokens.endSession("long-ago", t0 - 901_000, t0);
		assert.equal(tokens.verify(tokens.sign(alice, "long-ago", t0), t0).id, alice.id);
	});
});
