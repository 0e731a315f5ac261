import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testConfig } from "../../lib/config.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { startPushService, type FakeDevice } from "../helpers/push-service.ts";
import { closeAll, connectSocket, emitWithAck, socketUrl, waitFor, type ClientSocket } from "../helpers/socket.ts";

type PushServiceStandIn = Awaited<ReturnType<typeof startPushService>>;

describe("Web Push against a push service stand-in on loopback", () => {
	let app: TestApp;
	let push: PushServiceStandIn;
	let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser, erin: TestUser, frank: TestUser, gina: TestUser;
	let groupId: string;
	const devices = new Map<string, FakeDevice>();
	const sockets: ClientSocket[] = [];

	const subscribe = async (user: TestUser, name: string) => {
		const device = push.device(name);
		const res = await client(app, user.accessToken).post("/api/push/subscriptions", { endpoint: device.endpoint, keys: device.keys });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		devices.set(`/${name}`, device);
		return res.body.id as string;
	};
	/** Pushes received for `name`, decrypted. */
	const pushesTo = (name: string) => push.received.filter(p => p.path === `/${name}`).map(p => devices.get(p.path)!.decrypt(p.body) as Record<string, unknown>);
	/** Sends, waits for the pushes expected on `waitOn`, then for every push of that message to be done. */
	const send = async (content: string, waitOn: string[] = []) => {
		const before = new Map(waitOn.map(n => [n, pushesTo(n).length]));
		const res = await client(app, alice.accessToken).post("/api/messages", { groupId, content });
		assert.equal(res.status, 201);
		await waitFor(() => waitOn.every(n => pushesTo(n).length > before.get(n)!), `pushes to ${waitOn.join(", ")}`);
		await app.broker.call("push.settle");
		return res.body;
	};

	before(async () => {
		push = await startPushService();
		app = await startTestApp({ push: { ...testConfig().push, testEndpoints: [push.origin] } });
		[alice, bob, carol, dave, erin, frank, gina] = await Promise.all(["alice", "bob", "carol", "dave", "erin", "frank", "gina"].map(n => registerUser(app, n)));
		const others = [bob, carol, dave, erin, frank, gina].map(u => u.user.id);
		groupId = (await client(app, alice.accessToken).post("/api/groups", { name: "Design", memberIds: others })).body.id;
		await client(app, carol.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "mentions" });
		await client(app, dave.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "nothing" });
		await client(app, erin.accessToken).put(`/api/groups/${groupId}/notifications`, {
			level: "all",
			mutedUntil: new Date(Date.now() + 3600_000).toISOString()
		});
		for (const [user, name] of [
			[alice, "alice"],
			[bob, "bob"],
			[carol, "carol"],
			[dave, "dave"],
			[erin, "erin"],
			[frank, "frank"],
			[gina, "gina"]
		] as const)
			await subscribe(user, name);
		const url = socketUrl(app.broker);
		// Frank has the app open and visible on another device; Gina's only tab is hidden (away).
		const [frankSocket, ginaSocket] = await Promise.all([connectSocket(url, frank.accessToken), connectSocket(url, gina.accessToken)]);
		sockets.push(frankSocket, ginaSocket);
		await emitWithAck(ginaSocket, "user.heartbeat", { status: "away" });
		await waitFor(async () => {
			const res = await client(app, alice.accessToken).get(`/api/presence?userIds=${frank.user.id},${gina.user.id}`);
			return res.body.items.map((p: { status: string }) => p.status).join() === "online,away";
		}, "presence of frank and gina");
	});
	after(async () => {
		closeAll(...sockets);
		await app?.stop();
		await push?.close();
	});

	test("GET /api/push/key gives the VAPID public key the pushes are signed with", async () => {
		const res = await client(app, bob.accessToken).get("/api/push/key");
		assert.equal(res.status, 200);
		assert.equal(res.body.publicKey, app.config.push.vapid.publicKey);
		assert.equal(Buffer.from(res.body.publicKey, "base64url").length, 65);
		assert.equal((await client(app).get("/api/push/key")).status, 401);
	});

	test("a new message is pushed, encrypted, to members at 'all' without a visible app, and to nobody else", async () => {
		const message = await send("Lunch at noon?   Bring   the slides.", ["bob", "gina"]);
		const [toBob] = pushesTo("bob");
		assert.deepEqual(toBob, {
			groupId,
			seq: message.seq,
			messageId: message.id,
			title: `${alice.user.displayName} in Design`,
			body: "Lunch at noon? Bring the slides.",
			tag: `conversation:${groupId}`
		});
		assert.equal(pushesTo("gina").length, 1, "an away (hidden) tab does not stop a push");
		for (const nobody of ["alice", "carol", "dave", "erin", "frank"]) assert.equal(pushesTo(nobody).length, 0, `${nobody} got a push`);
		const raw = push.received.find(p => p.path === "/bob")!;
		assert.equal(raw.headers["content-encoding"], "aes128gcm");
		assert.equal(raw.headers.topic, groupId);
		assert.match(String(raw.headers.authorization), new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${app.config.push.vapid.publicKey}$`));
	});

	test("a member at 'mentions' gets only the messages that mention them", async () => {
		await send(`@${carol.user.username} can you check this?`, ["carol", "bob"]);
		const toCarol = pushesTo("carol");
		assert.equal(toCarol.length, 1);
		assert.equal(toCarol[0].body, `@${carol.user.username} can you check this?`);
		assert.equal(pushesTo("dave").length + pushesTo("erin").length + pushesTo("alice").length + pushesTo("frank").length, 0);
	});

	test("a subscription the push service answers 410 for is dropped", async () => {
		const goneId = await subscribe(bob, "gone/bob-old-phone");
		await send("first", ["bob", "gone/bob-old-phone"]);
		assert.equal(pushesTo("gone/bob-old-phone").length, 1);
		await send("second", ["bob"]);
		assert.equal(pushesTo("gone/bob-old-phone").length, 1, "no push after the 410");
		assert.equal((await client(app, bob.accessToken).del(`/api/push/subscriptions/${goneId}`)).status, 404, "the subscription is gone");
	});

	test("no push when the sender's own devices are the only ones, nor for a level changed to 'nothing'", async () => {
		await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "nothing" });
		const before = pushesTo("bob").length;
		await send("quiet now", ["gina"]);
		assert.equal(pushesTo("bob").length, before);
		await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "all" });
	});

	test("subscriptions: only push-service https endpoints and valid keys; a device registers once; delete only your own", async () => {
		const api = client(app, bob.accessToken);
		const device = push.device("bob-laptop");
		for (const endpoint of [
			"http://fcm.googleapis.com/fcm/send/x",
			"https://169.254.169.254/latest",
			"https://internal.example.com/push",
			"https://fcm.googleapis.com:8443/fcm/send/x",
			"https://user:pw@fcm.googleapis.com/fcm/send/x",
			"not a url"
		]) {
			const res = await api.post("/api/push/subscriptions", { endpoint, keys: device.keys });
			assert.equal(res.status, 422, endpoint);
			assert.equal(res.body.data[0].field, "endpoint");
		}
		const badKeys = await api.post("/api/push/subscriptions", {
			endpoint: "https://fcm.googleapis.com/fcm/send/abc",
			keys: { p256dh: "AAAA", auth: device.keys.auth }
		});
		assert.equal(badKeys.status, 422);
		const real = await api.post("/api/push/subscriptions", { endpoint: "https://fcm.googleapis.com/fcm/send/abc", keys: device.keys });
		assert.equal(real.status, 201);
		const again = await api.post("/api/push/subscriptions", { endpoint: "https://fcm.googleapis.com/fcm/send/abc", keys: device.keys });
		assert.equal(again.status, 200);
		assert.equal(again.body.id, real.body.id);
		assert.equal((await client(app, carol.accessToken).del(`/api/push/subscriptions/${real.body.id}`)).status, 404);
		assert.equal((await api.del(`/api/push/subscriptions/${real.body.id}`)).status, 200);
		assert.equal((await api.del(`/api/push/subscriptions/${real.body.id}`)).status, 404);
	});
});
