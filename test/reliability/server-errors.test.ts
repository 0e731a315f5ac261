import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Errors } from "moleculer";
import ApiGateway from "moleculer-web";
import { toClientError } from "../../lib/errors.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { closeAll, connectSocket, emitWithAck, socketUrl, type ClientSocket } from "../helpers/socket.ts";

/** 5xx that are no bug keep their code (503 with Retry-After, 504, 502) over REST and in socket acks; bugs are an opaque 500. */

describe("server errors keep their code", () => {
	test("toClientError: unavailable, timed out, disconnected, and bugs", () => {
		const cases: [unknown, number, string][] = [
			[new Errors.ServiceNotFoundError({ action: "groups.list" }), 503, "SERVICE_UNAVAILABLE"],
			[new Errors.ServiceNotAvailableError({ action: "groups.list" }), 503, "SERVICE_UNAVAILABLE"],
			[new (ApiGateway.Errors.ServiceUnavailableError as unknown as new () => Error)(), 503, "SERVICE_UNAVAILABLE"],
			[new Errors.RequestRejectedError({ action: "messages.send", nodeID: "n1" }), 503, "SERVICE_UNAVAILABLE"],
			[new Errors.MoleculerRetryableError("Could not assign a sequence number, try again", 503, "SEQUENCE_CONFLICT"), 503, "SERVICE_UNAVAILABLE"],
			[new Errors.RequestTimeoutError({ action: "messages.send", nodeID: "n1" }), 504, "REQUEST_TIMEOUT"],
			[new (Errors.BrokerDisconnectedError as unknown as new () => Error)(), 502, "BAD_GATEWAY"],
			[new Error("undefined is not a function"), 500, "INTERNAL_ERROR"],
			[new Errors.MoleculerServerError("secret internals", 500, "DB_DOWN"), 500, "INTERNAL_ERROR"]
		];
		for (const [err, code, type] of cases) {
			const body = toClientError(err);
			assert.deepEqual([body.code, body.type], [code, type], (err as Error).name);
			assert.doesNotMatch(body.message, /internals|undefined|n1/, "5xx messages stay opaque");
		}
		assert.equal((toClientError(new Errors.ServiceNotFoundError({ action: "x.y" })).data as { retryAfterMs: number }).retryAfterMs > 0, true);
	});

	describe("through REST and the socket, with a service gone", () => {
		let app: TestApp;
		let alice: TestUser;
		let socket: ClientSocket;

		before(async () => {
			app = await startTestApp();
			alice = await registerUser(app, "gone");
			socket = await connectSocket(socketUrl(app.broker), alice.accessToken);
			await app.broker.destroyService(app.broker.getLocalService("groups")!);
		});
		after(async () => {
			closeAll(socket);
			await app?.stop();
		});

		test("REST: 503 SERVICE_UNAVAILABLE with Retry-After, not 500", async () => {
			const res = await client(app, alice.accessToken).get("/api/groups");
			assert.equal(res.status, 503, JSON.stringify(res.body));
			assert.equal(res.body.type, "SERVICE_UNAVAILABLE");
			assert.equal(res.headers.get("retry-after"), "1");
			const send = await client(app, alice.accessToken).post("/api/messages", { groupId: "a".repeat(24), content: "hi", clientMessageId: "c1" });
			assert.equal(send.status, 503, JSON.stringify(send.body));
		});

		test("socket: the ack carries the same 503", async () => {
			const ack = await emitWithAck(socket, "chat.sync", { cursors: {} });
			assert.equal(ack.ok, false);
			assert.deepEqual([ack.error?.code, ack.error?.type], [503, "SERVICE_UNAVAILABLE"]);
			assert.equal(socket.connected, true, "a failed event never disconnects");
		});
	});
});
