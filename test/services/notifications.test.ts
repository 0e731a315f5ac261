import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { client, useTestApp, type TestUser } from "../helpers/app.ts";
import { collect, waitForEvent } from "../helpers/socket.ts";

const hours = (n: number) => new Date(Date.now() + n * 3600_000).toISOString();

describe("notification settings (PUT /api/groups/:id/notifications)", () => {
	const t = useTestApp(["alice", "bob", "carol"]);
	const { api } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser;
	let groupId: string;
	let directId: string;

	before(async () => {
		[alice, bob, carol] = t.users;
		groupId = await t.group(alice, "Design", [bob]);
		directId = (await api(alice).post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body.id;
	});

	test("groups and direct conversations notify for everything by default", async () => {
		const list = await api(bob).get("/api/groups");
		for (const id of [groupId, directId]) {
			const group = list.body.items.find((g: { id: string }) => g.id === id);
			assert.deepEqual(group.notifications, { level: "all", mutedUntil: null });
		}
	});

	test("the level and mute are stored per member and carried by every Group the caller reads", async () => {
		const until = hours(8);
		const res = await api(bob).put(`/api/groups/${groupId}/notifications`, { level: "mentions", mutedUntil: until });
		assert.equal(res.status, 200);
		assert.equal(res.body.id, groupId);
		assert.deepEqual(res.body.notifications, { level: "mentions", mutedUntil: until });
		assert.deepEqual((await api(bob).get(`/api/groups/${groupId}`)).body.notifications, { level: "mentions", mutedUntil: until });
		const listed = (await api(bob).get("/api/groups")).body.items.find((g: { id: string }) => g.id === groupId);
		assert.deepEqual(listed.notifications, { level: "mentions", mutedUntil: until });
		// Alice's view of the same conversation is hers.
		assert.deepEqual((await api(alice).get(`/api/groups/${groupId}`)).body.notifications, { level: "all", mutedUntil: null });
		// Changing the level alone keeps the mute; null lifts it; a time in the past clears it too.
		const levelOnly = await api(bob).put(`/api/groups/${groupId}/notifications`, { level: "nothing" });
		assert.deepEqual(levelOnly.body.notifications, { level: "nothing", mutedUntil: until });
		const unmuted = await api(bob).put(`/api/groups/${groupId}/notifications`, { level: "all", mutedUntil: null });
		assert.deepEqual(unmuted.body.notifications, { level: "all", mutedUntil: null });
		await api(bob).put(`/api/groups/${groupId}/notifications`, { level: "all", mutedUntil: hours(1) });
		const past = await api(bob).put(`/api/groups/${groupId}/notifications`, { level: "all", mutedUntil: hours(-1) });
		assert.deepEqual(past.body.notifications, { level: "all", mutedUntil: null });
	});

	test("a direct conversation takes a setting as well", async () => {
		const res = await api(alice).put(`/api/groups/${directId}/notifications`, { level: "nothing" });
		assert.equal(res.status, 200);
		assert.deepEqual(res.body.notifications, { level: "nothing", mutedUntil: null });
		assert.deepEqual((await api(bob).get(`/api/groups/${directId}`)).body.notifications, { level: "all", mutedUntil: null });
	});

	test("bad levels and times are refused with 422 and change nothing", async () => {
		const own = api(alice);
		const before = (await own.get(`/api/groups/${groupId}`)).body.notifications;
		for (const body of [
			{ level: "loud" },
			{},
			{ level: "all", mutedUntil: "tomorrow" },
			{ level: "all", mutedUntil: "2030-01-01" },
			{ level: "all", mutedUntil: "2030-01-01T10:00:00" },
			{ level: "all", mutedUntil: "9999-01-01T00:00:00Z" },
			{ level: "all", mutedUntil: 12 }
		]) {
			const res = await own.put(`/api/groups/${groupId}/notifications`, body);
			assert.equal(res.status, 422, JSON.stringify(body));
		}
		assert.deepEqual((await own.get(`/api/groups/${groupId}`)).body.notifications, before);
	});

	test("only members: others get 404, as for a conversation that does not exist", async () => {
		assert.equal((await api(carol).put(`/api/groups/${groupId}/notifications`, { level: "nothing" })).status, 404);
		assert.equal((await api(carol).put(`/api/groups/aaaaaaaaaaaaaaaaaaaaaaaa/notifications`, { level: "nothing" })).status, 404);
		assert.equal((await client(t.app).put(`/api/groups/${groupId}/notifications`, { level: "nothing" })).status, 401);
	});

	test("the caller's other devices hear the change; other members do not", async () => {
		const [phone, laptop, alices] = await Promise.all([t.connect(bob), t.connect(bob), t.connect(alice)]);
		const heardByAlice = collect(alices, "group.notifications");
		const until = hours(24);
		const onLaptop = waitForEvent(laptop, "group.notifications");
		const onPhone = waitForEvent(phone, "group.notifications");
		await api(bob).put(`/api/groups/${groupId}/notifications`, { level: "mentions", mutedUntil: until });
		const expected = { groupId, notifications: { level: "mentions", mutedUntil: until } };
		assert.deepEqual(await onLaptop, expected);
		assert.deepEqual(await onPhone, expected);
		// A message afterwards reaches Alice: had she been told of Bob's setting, it would have arrived before.
		const incoming = waitForEvent(alices, "chat.message.incoming");
		await api(bob).post("/api/messages", { groupId, content: "hi" });
		await incoming;
		assert.deepEqual(heardByAlice, []);
	});

	test("a member who leaves and comes back starts from the default", async () => {
		const groupRes = await api(alice).post("/api/groups", { name: "Temp", memberIds: [carol.user.id] });
		const id = groupRes.body.id;
		await api(carol).put(`/api/groups/${id}/notifications`, { level: "nothing" });
		assert.equal((await api(carol).del(`/api/groups/${id}/members/${carol.user.id}`)).status, 200);
		await api(alice).post(`/api/groups/${id}/members`, { userIds: [carol.user.id] });
		assert.deepEqual((await api(carol).get(`/api/groups/${id}`)).body.notifications, { level: "all", mutedUntil: null });
	});
});
