import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { callsAs } from "./groups/calls-at-once.ts";

describe("groups", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let carol: TestUser;
	let dave: TestUser;

	before(async () => {
		app = await startTestApp();
		[alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map(n => registerUser(app, n)));
	});
	after(() => app.stop());

	test("a group has its creator as owner and the others as members", async () => {
		const res = await client(app, alice.accessToken).post("/api/groups", { name: "  Project X  ", memberIds: [bob.user.id, carol.user.id, alice.user.id] });
		assert.equal(res.status, 201);
		assert.equal(res.headers.get("location"), `/api/groups/${res.body.id}`);
		assert.equal(res.body.type, "group");
		assert.equal(res.body.name, "Project X");
		assert.deepEqual(
			res.body.members.map((m: { userId: string; role: string }) => [m.userId, m.role]).sort(),
			[
				[alice.user.id, "owner"],
				[bob.user.id, "member"],
				[carol.user.id, "member"]
			].sort()
		);
		assert.equal(res.body.lastSeq, 0);
		assert.equal(res.body.unreadCount, 0);
		assert.equal(res.body.lastMessage, null);
	});

	test("a direct conversation is unique per pair, whoever asks", async () => {
		const first = await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [dave.user.id] });
		assert.equal(first.status, 201);
		const again = await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [dave.user.id] });
		const reverse = await client(app, dave.accessToken).post("/api/groups", { type: "direct", memberIds: [alice.user.id] });
		assert.equal(again.status, 200);
		assert.equal(again.body.id, first.body.id);
		assert.equal(reverse.body.id, first.body.id);
		const [x, y] = await Promise.all([
			client(app, bob.accessToken).post("/api/groups", { type: "direct", memberIds: [dave.user.id] }),
			client(app, dave.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id] })
		]);
		assert.equal(x.body.id, y.body.id, "racing creators end up in one DM");
		assert.equal((await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [alice.user.id] })).status, 422);
		assert.equal((await client(app, alice.accessToken).post("/api/groups", { type: "direct", memberIds: [bob.user.id, carol.user.id] })).status, 422);
		const dm = await client(app, alice.accessToken).post(`/api/groups/${first.body.id}/members`, { userIds: [bob.user.id] });
		assert.equal(dm.status, 403);
	});

	test("unknown users cannot be added; names are required for groups", async () => {
		const api = client(app, alice.accessToken);
		const unknown = await api.post("/api/groups", { name: "x", memberIds: ["aaaaaaaaaaaaaaaaaaaaaaaa"] });
		assert.equal(unknown.status, 422);
		assert.equal(unknown.body.data[0].field, "memberIds");
		assert.equal((await api.post("/api/groups", { memberIds: [bob.user.id] })).status, 422);
		assert.equal((await api.post("/api/groups", { name: "   ", memberIds: [] })).status, 422);
		assert.equal((await api.post("/api/groups", { name: "x".repeat(101), memberIds: [] })).status, 422);
		assert.equal((await api.post("/api/groups", { name: "x", memberIds: "nope" })).status, 422);
	});

	test("the list shows my conversations only, newest activity first, with unread counts and previews", async () => {
		const a = client(app, alice.accessToken);
		const older = (await a.post("/api/groups", { name: "Older", memberIds: [bob.user.id] })).body;
		const newer = (await a.post("/api/groups", { name: "Newer", memberIds: [bob.user.id] })).body;
		await client(app, bob.accessToken).post("/api/messages", { groupId: older.id, content: "first" });
		await client(app, bob.accessToken).post("/api/messages", { groupId: older.id, content: "second" });
		const list = (await a.get("/api/groups")).body.items;
		const names = list.map((g: { name: string }) => g.name);
		assert.ok(names.indexOf("Older") < names.indexOf("Newer"), "the conversation with the latest message comes first");
		const o = list.find((g: { id: string }) => g.id === older.id);
		assert.equal(o.unreadCount, 2);
		assert.equal(o.lastSeq, 2);
		assert.equal(o.lastMessage.content, "second");
		assert.equal(list.find((g: { id: string }) => g.id === newer.id).unreadCount, 0);
		await a.post(`/api/messages/${older.id}/seen`, { seq: 1 });
		assert.equal((await a.get(`/api/groups/${older.id}`)).body.unreadCount, 1);
		const carolsList = (await client(app, carol.accessToken).get("/api/groups")).body.items;
		assert.ok(!carolsList.some((g: { id: string }) => g.id === older.id));
		assert.equal((await client(app, carol.accessToken).get(`/api/groups/${older.id}`)).status, 404);
	});

	test("owners and admins manage members; members may only leave", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Roles", memberIds: [bob.user.id] })).body;
		const b = client(app, bob.accessToken);
		assert.equal((await b.post(`/api/groups/${g.id}/members`, { userIds: [carol.user.id] })).status, 403);
		assert.equal((await b.put(`/api/groups/${g.id}`, { name: "Mine" })).status, 403);
		assert.equal((await b.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "admin" })).status, 403);

		const promoted = await a.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "admin" });
		assert.equal(promoted.status, 200);
		const added = await b.post(`/api/groups/${g.id}/members`, { userIds: [carol.user.id, dave.user.id] });
		assert.equal(added.status, 200);
		assert.equal(added.body.members.length, 4);
		// Members join caught up: no unread backlog from before they joined.
		assert.equal((await client(app, carol.accessToken).get(`/api/groups/${g.id}`)).body.unreadCount, 0);

		assert.equal((await b.del(`/api/groups/${g.id}/members/${alice.user.id}`)).status, 403, "an admin cannot remove the owner");
		assert.equal((await client(app, carol.accessToken).del(`/api/groups/${g.id}/members/${dave.user.id}`)).status, 403);
		const removed = await b.del(`/api/groups/${g.id}/members/${dave.user.id}`);
		assert.equal(removed.status, 200);
		assert.ok(!removed.body.members.some((m: { userId: string }) => m.userId === dave.user.id));
		assert.equal((await client(app, dave.accessToken).get(`/api/groups/${g.id}`)).status, 404);
		assert.equal((await b.del(`/api/groups/${g.id}/members/${dave.user.id}`)).status, 404);

		const left = await client(app, carol.accessToken).del(`/api/groups/${g.id}/members/${carol.user.id}`);
		assert.equal(left.status, 200);
		assert.equal((await client(app, carol.accessToken).post("/api/messages", { groupId: g.id, content: "hi" })).status, 404);
	});

	test("the last owner leaving hands ownership to the longest-standing admin, else member", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Heirs", memberIds: [bob.user.id, carol.user.id] })).body;
		await a.put(`/api/groups/${g.id}/members/${carol.user.id}`, { role: "admin" });
		await a.del(`/api/groups/${g.id}/members/${alice.user.id}`);
		const after1 = (await client(app, bob.accessToken).get(`/api/groups/${g.id}`)).body;
		assert.equal(after1.members.find((m: { userId: string }) => m.userId === carol.user.id).role, "owner");
		await client(app, carol.accessToken).del(`/api/groups/${g.id}/members/${carol.user.id}`);
		const after2 = (await client(app, bob.accessToken).get(`/api/groups/${g.id}`)).body;
		assert.deepEqual(after2.members, [{ userId: bob.user.id, role: "owner" }]);
	});

	test("ownership can be handed on explicitly", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Handover", memberIds: [bob.user.id] })).body;
		const res = await a.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "owner" });
		const roleOf = (id: string) => res.body.members.find((m: { userId: string }) => m.userId === id).role;
		assert.equal(roleOf(alice.user.id), "admin");
		assert.equal(roleOf(bob.user.id), "owner");
		assert.equal((await a.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "member" })).status, 403);
		assert.equal((await a.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "king" })).status, 422);
	});

	test("renaming updates the group for every member", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Old name", memberIds: [bob.user.id] })).body;
		assert.equal((await a.put(`/api/groups/${g.id}`, { name: "New name" })).body.name, "New name");
		assert.equal((await client(app, bob.accessToken).get(`/api/groups/${g.id}`)).body.name, "New name");
	});

	test("answers carry the group as the change left it; a role given again changes nothing", async () => {
		const a = client(app, alice.accessToken);
		const g = (await a.post("/api/groups", { name: "Stamps", memberIds: [bob.user.id] })).body;
		const stored = async () => (await a.get(`/api/groups/${g.id}`)).body;
		const added = await a.post(`/api/groups/${g.id}/members`, { userIds: [carol.user.id] });
		assert.equal(added.body.updatedAt, (await stored()).updatedAt);
		assert.notEqual(added.body.updatedAt, g.updatedAt);
		const promoted = await a.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "admin" });
		assert.equal(promoted.body.updatedAt, (await stored()).updatedAt);
		const removed = await a.del(`/api/groups/${g.id}/members/${carol.user.id}`);
		assert.equal(removed.body.updatedAt, (await stored()).updatedAt);
		const before = await stored();
		const again = await a.put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "admin" });
		assert.equal(again.status, 200);
		assert.equal((await stored()).updatedAt, before.updatedAt, "no change was recorded");
	});

	test("changes of one group made at the same moment are applied one after the other, each checked against the last", async () => {
		const a = client(app, alice.accessToken);
		const as = (user: TestUser) => callsAs(app, user);
		const roles = async (id: string) => (await a.get(`/api/groups/${id}`)).body.members.map((m: { role: string }) => m.role).sort();

		// Two hand-overs: the second finds its caller no longer the owner.
		const handOver = (await a.post("/api/groups", { name: "Hand-overs", memberIds: [bob.user.id, carol.user.id, dave.user.id] })).body.id;
		const handed = await Promise.all([bob, carol, dave].map(u => as(alice)("groups.setRole", { id: handOver, userId: u.user.id, role: "owner" })));
		assert.deepEqual(handed.sort(), [200, 403, 403]);
		assert.deepEqual(await roles(handOver), ["admin", "member", "member", "owner"], "one owner");

		// One member removed by the owner, an admin and themselves: removed once, one line in the timeline.
		const removal = (await a.post("/api/groups", { name: "Removals", memberIds: [bob.user.id, carol.user.id] })).body.id;
		await a.put(`/api/groups/${removal}/members/${bob.user.id}`, { role: "admin" });
		const target = { id: removal, userId: carol.user.id };
		const removed = await Promise.all([
			as(alice)("groups.removeMember", target),
			as(bob)("groups.removeMember", target),
			as(carol)("groups.removeMember", target)
		]);
		assert.deepEqual(removed.sort(), [200, 404, 404]);
		const lines = (await a.get(`/api/messages/${removal}`)).body.items.map((m: { system: { type: string } | null }) => m.system?.type);
		assert.equal(lines.filter((t: string) => t === "member.removed" || t === "member.left").length, 1);

		// An admin removing a member while the owner removes the admin: the admin acts only while still one.
		const demotion = (await a.post("/api/groups", { name: "Demotions", memberIds: [bob.user.id, carol.user.id] })).body.id;
		await a.put(`/api/groups/${demotion}/members/${bob.user.id}`, { role: "admin" });
		const [ownerRemovesAdmin, adminRemovesMember] = await Promise.all([
			as(alice)("groups.removeMember", { id: demotion, userId: bob.user.id }),
			as(bob)("groups.removeMember", { id: demotion, userId: carol.user.id })
		]);
		assert.equal(ownerRemovesAdmin, 200);
		const timeline: { senderId: string; system: { type: string; userId?: string } | null }[] = (await a.get(`/api/messages/${demotion}`)).body.items;
		const bobRemoved = timeline.findIndex(m => m.system?.type === "member.removed" && m.system.userId === bob.user.id);
		const byBob = timeline.findIndex(m => m.system?.type === "member.removed" && m.senderId === bob.user.id);
		assert.equal(adminRemovesMember === 200, byBob !== -1);
		assert.ok(byBob < bobRemoved, "bob's removal of carol, if it happened, came while he was an admin");
		assert.equal((await a.get(`/api/groups/${demotion}`)).body.members.length, byBob === -1 ? 2 : 1);

		// Two renames: the second line names the first's name as the previous one.
		const renames = (await a.post("/api/groups", { name: "Zero", memberIds: [bob.user.id] })).body.id;
		await a.put(`/api/groups/${renames}/members/${bob.user.id}`, { role: "admin" });
		assert.deepEqual(
			await Promise.all([as(alice)("groups.update", { id: renames, name: "One" }), as(bob)("groups.update", { id: renames, name: "Two" })]),
			[200, 200]
		);
		const renamed = (await a.get(`/api/messages/${renames}`)).body.items.filter((m: { system: { type: string } | null }) => m.system?.type === "group.renamed");
		const [first, second] = renamed.map((m: { system: { name: string; previousName: string } }) => m.system);
		assert.equal(renamed.length, 2);
		assert.equal(first.previousName, "Zero");
		assert.equal(second.previousName, first.name, "each rename starts from the name the one before left");
		assert.equal((await a.get(`/api/groups/${renames}`)).body.name, second.name);
	});
});
