import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { MemoryPresenceStore, RedisPresenceStore, type PresenceStore } from "../../services/presence/presence-store.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { closeAll, collect, connectSocket, emitWithAck, waitFor, waitForEvent, redisSkipReason, type ClientSocket } from "../helpers/socket.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const TIMEOUT = { timeout: 60_000 };
const uniquePrefix = (what: string) => `test-${what}-${process.pid}-${randomBytes(4).toString("hex")}:`;

const U1 = "aaaaaaaaaaaaaaaaaaaaaaa1";
const U2 = "aaaaaaaaaaaaaaaaaaaaaaa2";

function storeContract(name: string, make: () => Promise<PresenceStore & { clear?(): Promise<void> }>, skip: () => string | false) {
	describe(`presence store: ${name}`, () => {
		let store: PresenceStore & { clear?(): Promise<void> };
		before(async () => {
			if (!skip()) store = await make();
		});
		after(async () => {
			if (!store) return;
			await store.clear?.();
			await store.close();
		});

		test("online on the first connection, away only when every connection is away", async t => {
			if (skip()) return t.skip(skip() as string);
			const lease = 10_000;
			assert.deepEqual(await store.connect(U1, "c1", "node-a", lease, 1), [{ userId: U1, status: "online", lastSeen: 1 }]);
			assert.deepEqual(await store.connect(U1, "c2", "node-b", lease, 2), []);
			assert.deepEqual(await store.setStatus(U1, "c1", "away", 3), []);
			assert.deepEqual(await store.setStatus(U1, "c2", "away", 4), [{ userId: U1, status: "away", lastSeen: 4 }]);
			assert.deepEqual(await store.setStatus(U1, "c1", "online", 5), [{ userId: U1, status: "online", lastSeen: 5 }]);
			assert.deepEqual(await store.setStatus(U1, "unknown-conn", "away", 5), []);
			assert.deepEqual(await store.query([U1, U2]), [
				{ userId: U1, status: "online", lastSeen: 5 },
				{ userId: U2, status: "offline", lastSeen: null }
			]);
			// The last online connection closes: the remaining one is away.
			assert.deepEqual(await store.disconnect(U1, "c1", 100, 6), [{ userId: U1, status: "away", lastSeen: 6 }]);
			assert.deepEqual(await store.disconnect(U1, "c2", 107, 7), []);
			assert.deepEqual(await store.sweep(106), [], "still inside the grace period");
			assert.equal((await store.query([U1]))[0].status, "away");
			assert.deepEqual(await store.sweep(107), [{ userId: U1, status: "offline", lastSeen: 7 }]);
			assert.deepEqual(await store.sweep(200), [], "announced once");
		});

		test("a reconnect inside the grace period changes nothing", async t => {
			if (skip()) return t.skip(skip() as string);
			assert.equal((await store.connect(U2, "r1", "node-a", 10_000, 1000)).length, 1);
			assert.deepEqual(await store.disconnect(U2, "r1", 1500, 1000), []);
			assert.deepEqual(await store.connect(U2, "r2", "node-a", 10_000, 1200), []);
			assert.deepEqual(await store.sweep(2000), []);
			assert.equal((await store.query([U2]))[0].status, "online");
			assert.deepEqual(await store.disconnect(U2, "r2", 2500, 2000), []);
			assert.deepEqual(await store.sweep(2500), [{ userId: U2, status: "offline", lastSeen: 2000 }]);
		});

		test("a node whose lease runs out loses its connections; renewed leases keep them", async t => {
			if (skip()) return t.skip(skip() as string);
			await store.connect(U1, "n1", "node-crashed", 5000, 3000);
			await store.connect(U2, "n2", "node-alive", 5000, 3000);
			await store.touchNode("node-alive", 9000);
			assert.deepEqual(await store.sweep(4999), []);
			const changes = await store.sweep(5000);
			assert.deepEqual(changes, [{ userId: U1, status: "offline", lastSeen: 5000 }]);
			assert.equal((await store.query([U2]))[0].status, "online");
			// A graceful stop keeps the grace period.
			assert.deepEqual(await store.dropNode("node-alive", 6000, 5500), []);
			assert.deepEqual(await store.sweep(6000), [{ userId: U2, status: "offline", lastSeen: 5500 }]);
		});
	});
}

let redisSkip: string | false = "not probed";
before(async () => {
	redisSkip = await redisSkipReason(REDIS_URL);
});

storeContract(
	"memory",
	async () => new MemoryPresenceStore(),
	() => false
);
storeContract(
	"redis",
	async () => new RedisPresenceStore(REDIS_URL, uniquePrefix("presence")),
	() => redisSkip
);

function presenceSuite(name: string, overrides: () => Parameters<typeof startTestApp>[0] | null) {
	describe(`presence over sockets (${name})`, () => {
		let app: TestApp;
		let alice: TestUser, bob: TestUser, dave: TestUser;
		const open: ClientSocket[] = [];
		const connect = async (user: TestUser) => {
			const s = await connectSocket(app.url, user.accessToken);
			open.push(s);
			return s;
		};
		const isBob = (status: string) => (p: { userId: string; status: string }) => p.userId === bob.user.id && p.status === status;

		before(async () => {
			const extra = overrides();
			if (extra === null) return;
			app = await startTestApp({ presence: { heartbeatSeconds: 1, graceSeconds: 1 }, ...extra });
			[alice, bob, dave] = await Promise.all(["palice", "pbob", "pdave"].map(n => registerUser(app, n)));
			await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id] });
		});
		after(async () => {
			closeAll(...open);
			if (!app) return;
			const redisUrl = app.config.redisUrl;
			await app.stop();
			if (redisUrl) {
				const keys = new RedisPresenceStore(redisUrl, `${app.config.namespace}:presence:`);
				await keys.clear();
				await keys.close();
			}
		});

		test("online, multi-tab, grace period, offline with lastSeen; only to people who share a conversation", TIMEOUT, async t => {
			if (!app) return t.skip(redisSkip as string);
			const [a, d] = await Promise.all([connect(alice), connect(dave)]);
			const aliceSees = collect(a, "user.presence");
			const daveSees = collect(d, "user.presence");

			const online = waitForEvent(a, "user.presence", isBob("online"));
			const b1 = await connect(bob);
			await online;
			const b2 = await connect(bob);
			b1.close();
			// Reload: the last tab closes and a new one opens inside the grace period.
			b2.close();
			const b3 = await connect(bob);
			const graceEnds = Date.now() + 2500;
			await waitFor(() => Date.now() > graceEnds, "the grace period to pass", 5000);
			assert.equal(aliceSees.filter(isBob("offline")).length, 0, "no flicker to offline");
			const query = await emitWithAck(a, "presence.query", { userIds: [bob.user.id, dave.user.id] });
			assert.equal(query.ok, true, JSON.stringify(query));
			assert.deepEqual(
				query.items.map((p: { status: string }) => p.status),
				["online", "online"]
			);

			const away = waitForEvent(a, "user.presence", isBob("away"));
			assert.deepEqual(await emitWithAck(b3, "user.heartbeat", { status: "away" }), { ok: true, status: "away" });
			await away;
			const back = waitForEvent(a, "user.presence", isBob("online"));
			await emitWithAck(b3, "user.heartbeat", { status: "online" });
			await back;

			const closedAt = Date.now();
			const offline = waitForEvent<{ userId: string; status: string; lastSeen: string }>(a, "user.presence", isBob("offline"));
			b3.close();
			const event = await offline;
			assert.ok(Date.now() - closedAt >= 900, "offline only after the grace period");
			assert.equal(event.lastSeen, new Date(event.lastSeen).toISOString(), "lastSeen is an ISO 8601 string");
			assert.ok(Date.parse(event.lastSeen) >= closedAt - 50 && Date.parse(event.lastSeen) <= Date.now());

			const rest = await client(app, alice.accessToken).get(`/api/presence?userIds=${bob.user.id},${alice.user.id}`);
			assert.equal(rest.status, 200, JSON.stringify(rest.body));
			assert.deepEqual(
				rest.body.items.map((p: { status: string }) => p.status),
				["offline", "online"]
			);
			assert.equal(rest.body.items[0].lastSeen, event.lastSeen, "REST says the same ISO lastSeen");
			const asked = await emitWithAck(a, "presence.query", { userIds: [bob.user.id] });
			assert.deepEqual(
				asked.items,
				[{ userId: bob.user.id, status: "offline", lastSeen: event.lastSeen }],
				"so does the socket (what a DM header shows as last seen)"
			);
			assert.equal(daveSees.filter(p => p.userId === bob.user.id).length, 0, "dave shares nothing with bob");
			closeAll(a, d);
		});

		test("REST presence validates its input and needs a login", TIMEOUT, async t => {
			if (!app) return t.skip(redisSkip as string);
			assert.equal((await client(app).get(`/api/presence?userIds=${bob.user.id}`)).status, 401);
			const bad = await client(app, alice.accessToken).get("/api/presence?userIds=nope");
			assert.equal(bad.status, 422);
			assert.match(JSON.stringify(bad.body), /userIds/);
			assert.equal((await client(app, alice.accessToken).get("/api/presence")).status, 422);
		});

		test("a gateway node that stops renewing its lease loses its users within two heartbeats", TIMEOUT, async t => {
			if (!app) return t.skip(redisSkip as string);
			const a = await connect(alice);
			const online = waitForEvent(a, "user.presence", isBob("online"));
			await app.broker.call("presence.connect", { userId: bob.user.id, connId: "ghost-socket", nodeID: `crashed-node-${process.pid}` });
			await online;
			const since = Date.now();
			await waitForEvent(a, "user.presence", isBob("offline"), 10_000);
			const took = Date.now() - since;
			assert.ok(took >= 1500 && took < 4500, `expired after ${took} ms (heartbeat 1 s)`);
			closeAll(a);
		});
	});
}

presenceSuite("memory store", () => ({}));
presenceSuite("redis store", () => (redisSkip ? null : { redisUrl: REDIS_URL, namespace: `test-presence-${process.pid}-${randomBytes(3).toString("hex")}` }));
