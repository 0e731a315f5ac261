import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CallerSigner } from "../../../lib/cluster-trust.ts";
import { testConfig } from "../../../lib/config.ts";
import type { SubscriptionDoc } from "../../../services/push/subscriptions.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../../helpers/app.ts";
import { asOperator } from "../../helpers/operator.ts";
import { startPushService, type FakeDevice } from "../../helpers/push-service.ts";
import { waitFor } from "../../helpers/socket.ts";

type PushServiceStandIn = Awaited<ReturnType<typeof startPushService>>;
type Tokens = { accessToken: string; refreshToken: string };

describe("a push subscription ends with the sign-in that registered it", () => {
	let app: TestApp;
	let push: PushServiceStandIn;
	let alice: TestUser;
	const devices = new Map<string, FakeDevice>();
	let nameCounter = 0;

	const subscriptions = () =>
		(app.broker.getLocalService("push") as unknown as { db: { subscriptions: { find(q: object): Promise<SubscriptionDoc[]> } } }).db.subscriptions;
	const endpointsOf = async (user: TestUser) => (await subscriptions().find({ userId: user.user.id })).map(s => s.endpoint).sort();
	const device = (name: string) => {
		const d = push.device(name);
		devices.set(`/${name}`, d);
		return d;
	};
	const register = async (tokens: Tokens, d: FakeDevice, status = 201) => {
		const res = await client(app, tokens.accessToken).post("/api/push/subscriptions", { endpoint: d.endpoint, keys: d.keys });
		assert.equal(res.status, status, JSON.stringify(res.body));
		return res.body.id as string;
	};
	const signIn = async (user: TestUser): Promise<Tokens> => {
		const res = await client(app).post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return res.body;
	};
	const pushesTo = (name: string) => push.received.filter(p => p.path === `/${name}`).map(p => devices.get(p.path)!.decrypt(p.body) as { body: string });
	/** Alice writes to `user`; resolves once the pushes for it are done, with the names of the devices that got it. */
	const write = async (groupId: string, names: string[], waitOn: string[]) => {
		const content = `message ${++nameCounter}`;
		assert.equal((await client(app, alice.accessToken).post("/api/messages", { groupId, content })).status, 201);
		await waitFor(() => waitOn.every(n => pushesTo(n).some(p => p.body === content)), `pushes to ${waitOn.join(", ")}`);
		await app.broker.call("push.settle");
		return names.filter(n => pushesTo(n).some(p => p.body === content));
	};
	const directWith = async (user: TestUser) => {
		const res = await client(app, alice.accessToken).post("/api/groups", { name: `With ${user.user.username}`, memberIds: [user.user.id] });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		return res.body.id as string;
	};

	before(async () => {
		push = await startPushService();
		app = await startTestApp({ push: { ...testConfig().push, testEndpoints: [push.origin] } });
		alice = await registerUser(app, "alice");
	});
	after(async () => {
		await app?.stop();
		await push?.close();
	});

	test("a password change and 'sign out of all other devices' end every device of the user; the device that did it registers again and keeps its pushes", async () => {
		const bob = await registerUser(app, "bob");
		const groupId = await directWith(bob);
		const phone = device("bob-phone");
		const laptop = device("bob-laptop");
		await register(bob, phone);
		let laptopSession = await signIn(bob);
		await register(laptopSession, laptop);
		assert.deepEqual(await write(groupId, ["bob-phone", "bob-laptop"], ["bob-phone", "bob-laptop"]), ["bob-phone", "bob-laptop"]);

		// The laptop changes the password: every session ends, the laptop's answer is a new one.
		const changed = await client(app, laptopSession.accessToken).post("/api/auth/password", {
			currentPassword: "correct horse battery",
			newPassword: "another-password-1"
		});
		assert.equal(changed.status, 200, JSON.stringify(changed.body));
		laptopSession = changed.body;
		await waitFor(async () => (await endpointsOf(bob)).length === 0, "bob's subscriptions to go");
		// The web app registers its browser's subscription again with the new session.
		await register(laptopSession, laptop);
		assert.deepEqual(await write(groupId, ["bob-phone", "bob-laptop"], ["bob-laptop"]), ["bob-laptop"]);

		// A device registered with a stolen token, then "sign out of all other devices" from the laptop.
		const stolen = device("bob-stolen");
		await register(laptopSession, stolen);
		const others = await client(app, laptopSession.accessToken).post("/api/auth/logout-others", {});
		assert.equal(others.status, 200, JSON.stringify(others.body));
		laptopSession = others.body;
		// Registered again before the event may have reached push: it stays all the same.
		await register(laptopSession, laptop, (await endpointsOf(bob)).includes(laptop.endpoint) ? 200 : 201);
		await waitFor(async () => !(await endpointsOf(bob)).includes(stolen.endpoint), "the stolen device's subscription to go");
		assert.deepEqual(await write(groupId, ["bob-phone", "bob-laptop", "bob-stolen"], ["bob-laptop"]), ["bob-laptop"]);
	});

	test("an operator's kick ends every device of the user", async () => {
		const carol = await registerUser(app, "carol");
		await register(carol, device("carol-1"));
		await register(await signIn(carol), device("carol-2"));
		assert.equal((await endpointsOf(carol)).length, 2);
		await asOperator(app.broker).call("auth.revokeSessions", { userId: carol.user.id });
		await waitFor(async () => (await endpointsOf(carol)).length === 0, "carol's subscriptions to go");
	});

	test("a logout ends the devices that sign-in registered, and only those", async () => {
		const dave = await registerUser(app, "dave");
		const groupId = await directWith(dave);
		const tablet = await signIn(dave);
		await register(dave, device("dave-phone"));
		await register(tablet, device("dave-tablet"));
		assert.equal((await client(app).post("/api/auth/logout", { refreshToken: dave.refreshToken })).status, 200);
		await waitFor(async () => (await endpointsOf(dave)).length === 1, "the phone's subscription to go");
		assert.deepEqual(await endpointsOf(dave), [devices.get("/dave-tablet")!.endpoint]);
		assert.deepEqual(await write(groupId, ["dave-phone", "dave-tablet"], ["dave-tablet"]), ["dave-tablet"]);
	});

	test("a device registered again is bound to the sign-in that registered it last", async () => {
		const erin = await registerUser(app, "erin");
		const other = await signIn(erin);
		const phone = device("erin-phone");
		const id = await register(erin, phone);
		assert.equal(await register(other, phone, 200), id);
		// The first sign-in ends: the phone now belongs to the other one and stays.
		assert.equal((await client(app).post("/api/auth/logout", { refreshToken: erin.refreshToken })).status, 200);
		assert.equal((await client(app).post("/api/auth/logout", { refreshToken: other.refreshToken })).status, 200);
		await waitFor(async () => (await endpointsOf(erin)).length === 0, "the phone's subscription to go with the sign-in that registered it last");
	});

	test("the sign-in travels signed: a caller with another sessionId written in is forged", () => {
		const signer = new CallerSigner("a secret", "ns");
		const now = Date.now() / 1000;
		const signed = signer.signUser({ id: "u".repeat(24), username: "frank", sessionId: "s1" }, now + 60);
		assert.deepEqual(signer.verifyUser(signed, now), { ok: true, user: { id: "u".repeat(24), username: "frank", sessionId: "s1" } });
		assert.deepEqual(signer.verifyUser({ ...signed, sessionId: "s2" }, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, sessionId: undefined }, now), { ok: false, reason: "forged" });
		assert.deepEqual(signer.verifyUser({ ...signed, sessionId: 1 }, now), { ok: false, reason: "forged" });
		const plain = signer.signUser({ id: "u".repeat(24), username: "frank" }, now + 60);
		assert.equal("sessionId" in plain, false);
		assert.deepEqual(signer.verifyUser({ ...plain, sessionId: "s1" }, now), { ok: false, reason: "forged" });
	});

	test("taking over endpoints of another user counts against the caller's cap of 20", async () => {
		const [gina, mallory] = await Promise.all([registerUser(app, "gina"), registerUser(app, "mallory")]);
		for (let i = 0; i < 25; i++) {
			const d = device(`taken-${i}`);
			await register(gina, d);
			await register(mallory, d, 200);
		}
		const mine = await subscriptions().find({ userId: mallory.user.id });
		assert.equal(mine.length, 20);
		// The one just taken over stays.
		assert.ok(mine.some(s => s.endpoint === devices.get("/taken-24")!.endpoint));
	});
});
