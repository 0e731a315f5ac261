import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { SocketLimitsConfig } from "../../lib/config.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { closeAll, collect, connectSocket, disconnected, emitWithAck, redisSkipReason, socketUrl, waitFor, type ClientSocket } from "../helpers/socket.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

/** One token a second refills far slower than a test sends, so what a burst allows is exact. */
const LIMITS: SocketLimitsConfig = {
	eventsPerSecond: 1,
	eventBurst: 20,
	eventCosts: { "chat.sync": 10, "presence.query": 5 },
	maxSocketsPerUser: 3,
	floodRejections: 5,
	floodWindowMs: 60_000
};

const sync = (socket: ClientSocket) => emitWithAck(socket, "chat.sync", { cursors: {} });
const heartbeat = (socket: ClientSocket) => emitWithAck(socket, "user.heartbeat", {});

describe("socket event budget and connection cap", () => {
	let app: TestApp;
	let url: string;
	const sockets: ClientSocket[] = [];
	const open = async (token: string) => {
		const socket = await connectSocket(url, token);
		sockets.push(socket);
		return socket;
	};

	before(async () => {
		app = await startTestApp({ socketLimits: LIMITS });
		url = socketUrl(app.broker);
	});
	after(async () => {
		closeAll(...sockets);
		await app.stop();
	});

	test("chat.sync costs more than other events; over the budget the ack is RATE_LIMITED and other users are unaffected", async () => {
		const [flooder, bystander] = await Promise.all([registerUser(app, "sync"), registerUser(app, "calm")]);
		const [socket, calm] = await Promise.all([open(flooder.accessToken), open(bystander.accessToken)]);
		assert.equal((await sync(socket)).ok, true);
		assert.equal((await sync(socket)).ok, true);
		const refused = await sync(socket);
		assert.equal(refused.ok, false);
		assert.equal(refused.error?.code, 429);
		assert.equal(refused.error?.type, "RATE_LIMITED");
		assert.ok(refused.error?.data.retryAfterMs > 0);
		// A cheap event still fits in what is left (20 - 2 × 10 + refill ≥ 0); the bystander has a budget of their own.
		assert.equal((await sync(calm)).ok, true);
		assert.equal((await sync(calm)).ok, true);
		// REST is a different limit.
		assert.equal((await client(app, flooder.accessToken).get("/api/groups")).status, 200);
	});

	test("the budget is the user's: a second socket of the same user is refused too", async () => {
		const user = await registerUser(app, "shared");
		const [a, b] = await Promise.all([open(user.accessToken), open(user.accessToken)]);
		const acks = [];
		for (let i = 0; i < LIMITS.eventBurst; i++) acks.push(await heartbeat(a));
		assert.ok(acks.every(ack => ack.ok));
		const fromB = await sync(b);
		assert.equal(fromB.error?.type, "RATE_LIMITED");
	});

	test("a socket that keeps flooding hears connection.closing, then is disconnected", async () => {
		const user = await registerUser(app, "flood");
		const socket = await open(user.accessToken);
		const closing = collect(socket, "connection.closing");
		const gone = disconnected(socket);
		const acks = [];
		// The burst, then refusals until the flood limit.
		for (let i = 0; i < LIMITS.eventBurst / 10 + LIMITS.floodRejections; i++) acks.push(await sync(socket));
		assert.equal(acks.filter(a => !a.ok).length, LIMITS.floodRejections);
		assert.equal(await gone, "io server disconnect");
		assert.equal(closing.length, 1);
		assert.deepEqual(closing[0], { reason: "flooding", retryAfterMs: LIMITS.floodWindowMs });
	});

	test("malformed events cost like any other: a socket flooding them is refused, then disconnected", async () => {
		const user = await registerUser(app, "junk");
		const socket = await open(user.accessToken);
		const gone = disconnected(socket);
		const codes: number[] = [];
		// Not an object, then nested too deep: each refused before any handler, each still charged.
		for (let i = 0; i < LIMITS.eventBurst + LIMITS.floodRejections; i++) {
			const ack = await emitWithAck(socket, "typing.start", i % 2 ? "x" : { groupId: "a".repeat(24), x: [[[[[[[1]]]]]]] });
			codes.push(ack.error?.code ?? 0);
		}
		assert.deepEqual(codes.slice(0, LIMITS.eventBurst), Array(LIMITS.eventBurst).fill(422));
		assert.deepEqual(codes.slice(LIMITS.eventBurst), Array(LIMITS.floodRejections).fill(429));
		assert.equal(await gone, "io server disconnect");
	});

	test(`at most ${LIMITS.maxSocketsPerUser} sockets per user: the new one is refused with too_many_connections`, async () => {
		const user = await registerUser(app, "tabs");
		const first = await open(user.accessToken);
		for (let i = 1; i < LIMITS.maxSocketsPerUser; i++) await open(user.accessToken);
		const refused = await connectSocket(url, user.accessToken).then(
			() => assert.fail("a socket over the cap connected"),
			(err: Error & { data?: { type: string } }) => err
		);
		assert.equal(refused.message, "too_many_connections");
		assert.equal(refused.data?.type, "TOO_MANY_CONNECTIONS");
		// The existing sessions are untouched.
		assert.equal(first.connected, true);
		assert.equal((await heartbeat(first)).ok, true);
		// Another user is not affected, and closing a tab frees a place.
		const other = await registerUser(app, "tabs");
		await open(other.accessToken);
		first.close();
		await waitFor(
			() =>
				connectSocket(url, user.accessToken).then(
					s => (sockets.push(s), true),
					() => false
				),
			"a place freed by the closed socket"
		);
	});
});

describe("socket event budget across gateways (Redis)", () => {
	let redisSkip: string | false = "not probed";
	let apps: TestApp[] = [];
	const sockets: ClientSocket[] = [];

	before(async () => {
		redisSkip = await redisSkipReason(REDIS_URL);
		if (redisSkip) return;
		const shared = { redisUrl: REDIS_URL, namespace: `budget-${process.pid}-${randomBytes(3).toString("hex")}`, socketLimits: LIMITS };
		const first = await startTestApp(shared);
		// The second gateway accepts the first one's tokens (same secret), as nodes of one cluster do.
		const second = await startTestApp({ ...shared, jwt: first.config.jwt });
		apps = [first, second];
	});
	after(async () => {
		closeAll(...sockets);
		await Promise.all(apps.map(a => a.stop()));
	});

	test("a user's budget spent on one gateway is spent on the other", async t => {
		if (redisSkip) return t.skip(redisSkip);
		const user: TestUser = await registerUser(apps[0], "multi");
		const onFirst = await connectSocket(socketUrl(apps[0].broker), user.accessToken);
		const onSecond = await connectSocket(socketUrl(apps[1].broker), user.accessToken);
		sockets.push(onFirst, onSecond);
		assert.equal((await sync(onFirst)).ok, true);
		assert.equal((await sync(onFirst)).ok, true);
		const refused = await sync(onSecond);
		assert.equal(refused.error?.type, "RATE_LIMITED");
	});
});
