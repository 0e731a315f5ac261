import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { toClientError, unauthorized } from "../../../lib/errors.ts";
import { originAllowed } from "../../../services/socket/chat-socket.ts";
import { handshakeRefusal } from "../../../services/socket/session.ts";

describe("handshake refusals", () => {
	const refused = (err: unknown) => {
		const e = handshakeRefusal(toClientError(err));
		return [e.message, e.data.type];
	};

	test("token problems are 'unauthorized' or 'token_expired', with the type a client can act on", () => {
		assert.deepEqual(refused(unauthorized()), ["unauthorized", "UNAUTHORIZED"]);
		assert.deepEqual(refused(unauthorized("bad", "INVALID_TOKEN")), ["unauthorized", "INVALID_TOKEN"]);
		assert.deepEqual(refused(unauthorized("old", "TOKEN_EXPIRED")), ["token_expired", "TOKEN_EXPIRED"]);
		// Kicked by an operator: signing in again is the only way back, and the client can say why.
		assert.deepEqual(refused(unauthorized("revoked", "SESSION_REVOKED")), ["unauthorized", "SESSION_REVOKED"]);
		// Any other client error (a deleted user, say) tells nothing more than UNAUTHORIZED.
		assert.deepEqual(refused(Object.assign(new Error("User not found"), { code: 404, type: "NOT_FOUND" })), ["unauthorized", "UNAUTHORIZED"]);
	});

	test("our failures are 'unavailable', so the client retries instead of signing out", () => {
		assert.deepEqual(refused(new Error("boom")), ["unavailable", "INTERNAL_ERROR"]);
		assert.deepEqual(refused(Object.assign(new Error("gone"), { name: "ServiceNotAvailableError" })), ["unavailable", "SERVICE_UNAVAILABLE"]);
	});
});

describe("websocket origins", () => {
	const request = (headers: Record<string, string>) => ({ headers });
	const only = { http: { corsOrigins: ["https://chat.example"], bodyLimit: "1mb", trustProxy: false } };

	test("any origin with '*', and clients that send none", () => {
		assert.equal(originAllowed(request({ origin: "https://evil.example" }), { http: { ...only.http, corsOrigins: "*" } }), true);
		assert.equal(originAllowed(request({}), only), true);
	});

	test("listed origins and the page's own host; others are refused", () => {
		assert.equal(originAllowed(request({ origin: "https://chat.example" }), only), true);
		assert.equal(originAllowed(request({ origin: "http://127.0.0.1:3000", host: "127.0.0.1:3000" }), only), true);
		assert.equal(originAllowed(request({ origin: "https://evil.example", host: "chat.example" }), only), false);
		assert.equal(originAllowed(request({ origin: "not a url", host: "chat.example" }), only), false);
	});
});
