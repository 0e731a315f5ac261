import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { closeAll, collect, connectSocket, socketUrl, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

const hours = (n: number) => new Date(Date.now() + n * 3600_000).toISOString();

describe("notification settings (PUT /api/groups/:id/notifications)", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let carol: TestUser;
	let groupId: string;
	let directId: string;
	const sockets: ClientSocket[] = [];

	before(async () => {
		app = await startTestApp();
		[alice, bob, carol] = await Promise.all(["alice", "bob", "carol"].map(n => registerUser(app, n)));
		groupId = (await client(app, alice.accessToken).post("/api/groups", { name: "Design", memberIds: [bob.user.id] })).body.id;
		directId = (await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body.id;
	});
	after(async () => {
		closeAll(...sockets);
		await app.stop();
	});

	test("groups and direct conversations notify for everything by default", async () => {
		const list = await client(app, bob.accessToken).get("/api/groups");
		for (const id of [groupId, directId]) {
			const group = list.body.items.find((g: { id: string }) => g.id === id);
			assert.deepEqual(group.notifications, { level: "all", mutedUntil: null });
		}
	});

	test("the level and mute are stored per member and carried by every Group the caller reads", async () => {
		const until = hours(8);
		const res = await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "mentions", mutedUntil: until });
		assert.equal(res.status, 200);
		assert.equal(res.body.id, groupId);
		assert.deepEqual(res.body.notifications, { level: "mentions", mutedUntil: until });
		assert.deepEqual((await client(app, bob.accessToken).get(`/api/groups/${groupId}`)).body.notifications, { level: "mentions", mutedUntil: until });
		const listed = (await client(app, bob.accessToken).get("/api/groups")).body.items.find((g: { id: string }) => g.id === groupId);
		assert.deepEqual(listed.notifications, { level: "mentions", mutedUntil: until });
		// Alice's view of the same conversation is hers.
		assert.deepEqual((await client(app, alice.accessToken).get(`/api/groups/${groupId}`)).body.notifications, { level: "all", mutedUntil: null });
		// Changing the level alone keeps the mute; null lifts it; a time in the past clears it too.
		const levelOnly = await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "nothing" });
		assert.deepEqual(levelOnly.body.notifications, { level: "nothing", mutedUntil: until });
		const unmuted = await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "all", mutedUntil: null });
		assert.deepEqual(unmuted.body.notifications, { level: "all", mutedUntil: null });
		await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "all", mutedUntil: hours(1) });
		const past = await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "all", mutedUntil: hours(-1) });
		assert.deepEqual(past.body.notifications, { level: "all", mutedUntil: null });
	});

	test("a direct conversation takes a setting as well", async () => {
		const res = await client(app, alice.accessToken).put(`/api/groups/${directId}/notifications`, { level: "nothing" });
		assert.equal(res.status, 200);
		assert.deepEqual(res.body.notifications, { level: "nothing", mutedUntil: null });
		assert.deepEqual((await client(app, bob.accessToken).get(`/api/groups/${directId}`)).body.notifications, { level: "all", mutedUntil: null });
	});

	test("bad levels and times are refused with 422 and change nothing", async () => {
		const api = client(app, alice.accessToken);
		const before = (await api.get(`/api/groups/${groupId}`)).body.notifications;
		for (const body of [
			{ level: "loud" },
			{},
			{ level: "all", mutedUntil: "tomorrow" },
			{ level: "all", mutedUntil: "2030-01-01" },
			{ level: "all", mutedUntil: "2030-01-01T10:00:00" },
			{ level: "all", mutedUntil: "9999-01-01T00:00:00Z" },
			{ level: "all", mutedUntil: 12 }
		]) {
			const res = await api.put(`/api/groups/${groupId}/notifications`, body);
			assert.equal(res.status, 422, JSON.stringify(body));
		}
		assert.deepEqual((await api.get(`/api/groups/${groupId}`)).body.notifications, before);
	});

	test("only members: others get 404, as for a conversation that does not exist", async () => {
		assert.equal((await client(app, carol.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "nothing" })).status, 404);
		assert.equal((await client(app, carol.accessToken).put(`/api/groups/aaaaaaaaaaaaaaaaaaaaaaaa/notifications`, { level: "nothing" })).status, 404);
		assert.equal((await client(app).put(`/api/groups/${groupId}/notifications`, { level: "nothing" })).status, 401);
	});

	test("the caller's other devices hear the change; other members do not", async () => {
		const url = socketUrl(app.broker);
		const [phone, laptop, alices] = await Promise.all([
			connectSocket(url, bob.accessToken),
			connectSocket(url, bob.accessToken),
			connectSocket(url, alice.accessToken)
		]);
		sockets.push(phone, laptop, alices);
		const heardByAlice = collect(alices, "group.notifications");
		const until = hours(24);
		const onLaptop = waitForEvent(laptop, "group.notifications");
		const onPhone = waitForEvent(phone, "group.notifications");
		await client(app, bob.accessToken).put(`/api/groups/${groupId}/notifications`, { level: "mentions", mutedUntil: until });
		const expected = { groupId, notifications: { level: "mentions", mutedUntil: until } };
		assert.deepEqual(await onLaptop, expected);
		assert.deepEqual(await onPhone, expected);
		// A message afterwards reaches Alice: had she been told of Bob's setting, it would have arrived before.
		const incoming = waitForEvent(alices, "chat.message.incoming");
		await client(app, bob.accessToken).post("/api/messages", { groupId, content: "hi" });
		await incoming;
		assert.deepEqual(heardByAlice, []);
	});

	test("a member who leaves and comes back starts from the default", async () => {
		const groupRes = await client(app, alice.accessToken).post("/api/groups", { name: "Temp", memberIds: [carol.user.id] });
		const id = groupRes.body.id;
		await client(app, carol.accessToken).put(`/api/groups/${id}/notifications`, { level: "nothing" });
		assert.equal((await client(app, carol.accessToken).del(`/api/groups/${id}/members/${carol.user.id}`)).status, 200);
		await client(app, alice.accessToken).post(`/api/groups/${id}/members`, { userIds: [carol.user.id] });
		assert.deepEqual((await client(app, carol.accessToken).get(`/api/groups/${id}`)).body.notifications, { level: "all", mutedUntil: null });
	});
});
