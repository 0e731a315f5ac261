import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Errors } from "moleculer";
import { acknowledged, type Payload } from "../../../services/socket/client-events.ts";
import { rateLimited } from "../../../lib/errors.ts";

type Reply = Record<string, unknown> & { ok: boolean; error?: { code: number; type: string; message: string; data?: unknown } };

/** Calls the listener as socket.io would and resolves with the ack (or null when none came within a tick). */
function emit(listener: (payload: unknown, ack: unknown) => void, ...args: unknown[]): Promise<Reply | null> {
	return new Promise(resolve => {
		const ack = (reply: Reply) => resolve(reply);
		if (args.length === 0) listener(ack, undefined);
		else listener(args[0], args.length > 1 ? args[1] : ack);
		setTimeout(() => resolve(null), 20);
	});
}

function quietLogger() {
	const errors: unknown[][] = [];
	return { errors, logger: { error: (...args: unknown[]) => void errors.push(args) } };
}

describe("acknowledged client events", () => {
	test("the result is acked with ok: true next to it", async () => {
		const { logger } = quietLogger();
		const listener = acknowledged("typing.start", async (payload: Payload) => ({ groupId: payload.groupId as string }), { ackOptional: false, logger });
		assert.deepEqual(await emit(listener, { groupId: "g1" }), { ok: true, groupId: "g1" });
	});

	test("a payload that is not an object is a 422 naming the payload; the handler does not run", async () => {
		const { logger } = quietLogger();
		let ran = 0;
		const listener = acknowledged("chat.message.send", async () => ({ ran: ++ran }), { ackOptional: false, logger });
		for (const payload of ["hello", null, [1, 2], 5]) {
			const reply = await emit(listener, payload);
			assert.equal(reply?.ok, false);
			assert.equal(reply?.error?.code, 422);
			assert.match(JSON.stringify(reply?.error), /payload/);
		}
		// Only an ack, no payload.
		const reply = await emit(listener);
		assert.equal(reply?.error?.code, 422);
		assert.equal(ran, 0);
	});

	test("client errors reach the client as they are; others as an opaque 500, logged", async () => {
		const { logger, errors } = quietLogger();
		const limited = await emit(
			acknowledged("chat.message.send", async () => Promise.reject(rateLimited(250)), { ackOptional: false, logger }),
			{}
		);
		assert.deepEqual(limited, {
			ok: false,
			error: { name: "RateLimitError", message: "Too many requests, slow down", code: 429, type: "RATE_LIMITED", data: { retryAfterMs: 250 } }
		});
		const invalid = await emit(
			acknowledged(
				"user.heartbeat",
				async () => Promise.reject(new Errors.ValidationError("bad", "VALIDATION_ERROR", [{ field: "status", message: "bad status", type: "enumValue" }])),
				{ ackOptional: true, logger }
			),
			{}
		);
		assert.equal(invalid?.error?.code, 422);
		assert.deepEqual(invalid?.error?.data, [{ field: "status", message: "bad status", type: "enumValue" }]);
		assert.equal(errors.length, 0);
		const broken = await emit(
			acknowledged("chat.sync", async () => Promise.reject(new Error("db password is hunter2")), { ackOptional: false, logger }),
			{}
		);
		assert.deepEqual(broken, { ok: false, error: { name: "InternalError", message: "Internal server error", code: 500, type: "INTERNAL_ERROR" } });
		assert.equal(errors.length, 1, "a server error is logged");
	});

	test("without an ack nothing runs, unless the ack is optional", async () => {
		const { logger } = quietLogger();
		const calls: string[] = [];
		const required = acknowledged("chat.message.send", async () => (calls.push("send"), {}), { ackOptional: false, logger });
		const optional = acknowledged("typing.start", async () => (calls.push("typing"), {}), { ackOptional: true, logger });
		assert.equal(await emit(required, {}, undefined), null);
		assert.equal(await emit(optional, { groupId: "g1" }, undefined), null);
		assert.equal(await emit(optional, "not an object", undefined), null, "a bad fire-and-forget payload fails quietly");
		assert.deepEqual(calls, ["typing"]);
	});
});
