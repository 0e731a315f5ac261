import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { callsAs } from "./groups/calls-at-once.ts";

const as = (app: TestApp, user: TestUser) => client(app, user.accessToken);

describe("who may add me to groups", () => {
	let app: TestApp;
	let victim: TestUser;
	let stranger: TestUser;
	let friend: TestUser;

	before(async () => {
		app = await startTestApp();
		[victim, stranger, friend] = await Promise.all([registerUser(app, "vic"), registerUser(app, "str"), registerUser(app, "fri")]);
	});
	after(() => app.stop());

	test("the setting is on the own profile only, 'everyone' by default", async () => {
		const me = as(app, victim);
		assert.equal((await me.get("/api/users/profile")).body.allowGroupAddsFrom, "everyone");
		const put = await me.put("/api/users/profile", { allowGroupAddsFrom: "contacts" });
		assert.equal(put.status, 200);
		assert.equal(put.body.allowGroupAddsFrom, "contacts");
		assert.equal((await me.get("/api/users/profile")).body.allowGroupAddsFrom, "contacts");
		assert.equal((await me.put("/api/users/profile", { allowGroupAddsFrom: "nobody" })).status, 422);
		const seen = await as(app, stranger).get(`/api/users/${victim.user.id}`);
		assert.equal(seen.status, 200);
		assert.equal("allowGroupAddsFrom" in seen.body, false);
	});

	test("a stranger cannot put a 'contacts' user into a group: 403 naming them, nothing changed", async () => {
		const created = await as(app, stranger).post("/api/groups", { name: "Spam", memberIds: [victim.user.id, friend.user.id] });
		assert.equal(created.status, 403);
		assert.equal(created.body.type, "GROUP_ADD_NOT_ALLOWED");
		assert.match(created.body.message, new RegExp(victim.user.username));
		assert.deepEqual(created.body.data.userIds, [victim.user.id]);
		assert.equal((await as(app, stranger).get("/api/groups")).body.items.length, 0);
		assert.equal((await as(app, victim).get("/api/groups")).body.items.length, 0);

		const own = await as(app, stranger).post("/api/groups", { name: "Mine", memberIds: [friend.user.id] });
		assert.equal(own.status, 201);
		const add = await as(app, stranger).post(`/api/groups/${own.body.id}/members`, { userIds: [victim.user.id] });
		assert.equal(add.status, 403);
		assert.equal(add.body.type, "GROUP_ADD_NOT_ALLOWED");
		const group = await as(app, stranger).get(`/api/groups/${own.body.id}`);
		assert.deepEqual(group.body.members.map((m: { userId: string }) => m.userId).sort(), [stranger.user.id, friend.user.id].sort());
		assert.equal((await as(app, victim).get("/api/groups")).body.items.length, 0);
	});

	test("a direct conversation the stranger opened makes no contact; one the user opened does", async () => {
		const dm = await as(app, stranger).post("/api/groups", { type: "direct", memberIds: [victim.user.id] });
		assert.equal(dm.status, 201);
		assert.equal((await as(app, stranger).post("/api/groups", { name: "Again", memberIds: [victim.user.id] })).status, 403);

		const other = await registerUser(app, "pal");
		assert.equal((await as(app, victim).post("/api/groups", { type: "direct", memberIds: [other.user.id] })).status, 201);
		const group = await as(app, other).post("/api/groups", { name: "Pals", memberIds: [victim.user.id] });
		assert.equal(group.status, 201);
		// Everyone the group's creator added (friend here) shares it with victim now, but victim was put in by `other`.
		assert.equal((await as(app, stranger).post("/api/groups", { name: "Still no", memberIds: [victim.user.id] })).status, 403);
	});

	test("a group both were put into by a third person makes them contacts", async () => {
		const host = await registerUser(app, "host");
		const a = await registerUser(app, "a");
		const b = await registerUser(app, "b");
		await as(app, b).put("/api/users/profile", { allowGroupAddsFrom: "contacts" });
		assert.equal((await as(app, a).post("/api/groups", { name: "x", memberIds: [b.user.id] })).status, 403);
		// b still accepts `host`? No: host is a stranger to b as well, so b first opens a conversation with host.
		assert.equal((await as(app, b).post("/api/groups", { type: "direct", memberIds: [host.user.id] })).status, 201);
		assert.equal((await as(app, host).post("/api/groups", { name: "Club", memberIds: [a.user.id, b.user.id] })).status, 201);
		assert.equal((await as(app, a).post("/api/groups", { name: "Now ok", memberIds: [b.user.id] })).status, 201);
	});
});

describe("group limits", () => {
	let app: TestApp;

	before(async () => {
		app = await startTestApp({ groupLimits: { maxMembers: 3, maxGroupsPerUser: 2 } });
	});
	after(() => app.stop());

	test("members per group: 409 GROUP_MEMBER_LIMIT on create and on add, nothing changed", async () => {
		const [owner, a, b, c] = await Promise.all(["o", "a", "b", "c"].map(p => registerUser(app, `lim${p}`)));
		const tooBig = await as(app, owner).post("/api/groups", { name: "Big", memberIds: [a.user.id, b.user.id, c.user.id] });
		assert.equal(tooBig.status, 409);
		assert.equal(tooBig.body.type, "GROUP_MEMBER_LIMIT");
		assert.equal((await as(app, owner).get("/api/groups")).body.items.length, 0);
		const group = await as(app, owner).post("/api/groups", { name: "Small", memberIds: [a.user.id, b.user.id] });
		assert.equal(group.status, 201);
		const add = await as(app, owner).post(`/api/groups/${group.body.id}/members`, { userIds: [c.user.id] });
		assert.equal(add.status, 409);
		assert.equal(add.body.type, "GROUP_MEMBER_LIMIT");
		assert.equal((await as(app, owner).get(`/api/groups/${group.body.id}`)).body.memberCount, 3);
		// Adding someone already there is no growth.
		assert.equal((await as(app, owner).post(`/api/groups/${group.body.id}/members`, { userIds: [a.user.id] })).status, 200);
	});

	test("groups per user: 409 GROUP_LIMIT_REACHED naming the user; direct conversations do not count", async () => {
		const [victim, x, y, z] = await Promise.all(["v", "x", "y", "z"].map(p => registerUser(app, `gpu${p}`)));
		assert.equal((await as(app, x).post("/api/groups", { type: "direct", memberIds: [victim.user.id] })).status, 201);
		assert.equal((await as(app, x).post("/api/groups", { name: "1", memberIds: [victim.user.id] })).status, 201);
		assert.equal((await as(app, y).post("/api/groups", { name: "2", memberIds: [victim.user.id] })).status, 201);
		const third = await as(app, z).post("/api/groups", { name: "3", memberIds: [victim.user.id] });
		assert.equal(third.status, 409);
		assert.equal(third.body.type, "GROUP_LIMIT_REACHED");
		assert.deepEqual(third.body.data.userIds, [victim.user.id]);
		assert.equal((await as(app, z).get("/api/groups")).body.items.length, 0);
		const own = await as(app, z).post("/api/groups", { name: "z", memberIds: [] });
		const add = await as(app, z).post(`/api/groups/${own.body.id}/members`, { userIds: [victim.user.id] });
		assert.equal(add.status, 409);
		assert.equal((await as(app, victim).get("/api/groups")).body.items.length, 3);
		// The creator is held to the limit too.
		assert.equal((await as(app, victim).post("/api/groups", { name: "mine", memberIds: [] })).status, 409);
	});

	test("limits hold for adds and creates made at the same moment", async () => {
		const [owner, a, b, c, d, maker, joiner] = await Promise.all(["o", "a", "b", "c", "d", "m", "j"].map(p => registerUser(app, `race${p}`)));
		const group = await as(app, owner).post("/api/groups", { name: "Race", memberIds: [a.user.id] });
		const adds = await Promise.all([b, c, d].map(u => callsAs(app, owner)("groups.addMembers", { id: group.body.id, userIds: [u.user.id] })));
		assert.deepEqual(adds.sort(), [200, 409, 409]);
		assert.equal((await as(app, owner).get(`/api/groups/${group.body.id}`)).body.memberCount, 3);

		// Each may be in 2 groups: of four groups made at once with the two of them, two are made.
		const creates = await Promise.all(["1", "2", "3", "4"].map(name => callsAs(app, maker)("groups.create", { name, memberIds: [joiner.user.id] })));
		assert.deepEqual(creates.sort(), [200, 200, 409, 409]);
		assert.equal((await as(app, joiner).get("/api/groups")).body.items.length, 2);
	});
});

describe("the conversation list in pages", () => {
	let app: TestApp;
	let me: TestUser;
	const ids: string[] = [];

	before(async () => {
		app = await startTestApp();
		me = await registerUser(app, "pager");
		const others = await Promise.all(Array.from({ length: 3 }, () => registerUser(app, "pg")));
		for (let i = 0; i < 7; i++) {
			const g = await as(app, me).post("/api/groups", { name: `g${i}`, memberIds: [others[i % 3].user.id] });
			ids.push(g.body.id);
		}
		// Activity in an order unlike creation: g2 newest, then g5.
		await as(app, me).post("/api/messages", { groupId: ids[5], content: "five" });
		await as(app, me).post("/api/messages", { groupId: ids[2], content: "two" });
	});
	after(() => app.stop());

	const walk = async (limit: number, between?: (page: number) => Promise<void>) => {
		const seen: string[] = [];
		let cursor: string | null = null;
		for (let page = 0; page < 20; page++) {
			const res: { status: number; body: { items: { id: string }[]; next: string | null } } = await as(app, me).get(
				`/api/groups?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`
			);
			assert.equal(res.status, 200);
			assert.ok(res.body.items.length <= limit);
			seen.push(...res.body.items.map((g: { id: string }) => g.id));
			cursor = res.body.next;
			if (!cursor) return seen;
			await between?.(page);
		}
		assert.fail("the pages never ended");
	};

	test("without params: every conversation, newest activity first, next null", async () => {
		const res = await as(app, me).get("/api/groups");
		assert.equal(res.body.next, null);
		const order = res.body.items.map((g: { id: string }) => g.id);
		assert.equal(order.length, 7);
		assert.deepEqual(order.slice(0, 2), [ids[2], ids[5]]);
		const times = res.body.items.map((g: { lastActivityAt: string }) => Date.parse(g.lastActivityAt));
		assert.deepEqual(
			times,
			[...times].sort((a, b) => b - a)
		);
	});

	test("pages of 3 give the same order, each conversation once", async () => {
		const full = (await as(app, me).get("/api/groups")).body.items.map((g: { id: string }) => g.id);
		assert.deepEqual(await walk(3), full);
	});

	test("activity between pages never repeats a conversation; the rest still come", async () => {
		const before = (await as(app, me).get("/api/groups")).body.items.map((g: { id: string }) => g.id);
		const last = before[before.length - 1];
		const seen = await walk(2, async page => {
			// The last conversation jumps to the top while the client is paging.
			if (page === 0) await as(app, me).post("/api/messages", { groupId: last, content: "bump" });
		});
		assert.equal(new Set(seen).size, seen.length, "no duplicates");
		for (const id of before.slice(0, -1)) assert.ok(seen.includes(id), `${id} was listed`);
	});

	test("a cursor that is not one we gave is a 422", async () => {
		for (const cursor of ["nope", Buffer.from("1:zz").toString("base64url"), "%00"]) {
			const res = await as(app, me).get(`/api/groups?cursor=${cursor}`);
			assert.equal(res.status, 422, cursor);
		}
		assert.equal((await as(app, me).get("/api/groups?limit=0")).status, 422);
		assert.equal((await as(app, me).get("/api/groups?limit=101")).status, 422);
	});
});
