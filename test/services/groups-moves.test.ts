import assert from "node:assert/strict";
import { afterEach, before, describe, test } from "node:test";
import { Errors } from "moleculer";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { GroupDoc } from "../../services/groups/documents.ts";
import { cursorId, type CursorDoc } from "../../services/messages/documents.ts";
import { useTestApp, type TestUser } from "../helpers/app.ts";
import { collect, waitFor } from "../helpers/socket.ts";

/**
 * A change of members whose other steps fail (the messages side, the group's own write): the rest of
 * the change is done at once, and what is left is completed by a retry, the group's next change or later.
 */
describe("member changes whose follow-up fails", () => {
	const f = useTestApp(["alice", "bob", "carol"]);
	let alice: TestUser, bob: TestUser, carol: TestUser;
	let groups: Collection<GroupDoc>;
	let cursors: Collection<CursorDoc>;
	const restore: (() => void)[] = [];
	before(() => {
		[alice, bob, carol] = f.users;
		groups = (f.app.broker.getLocalService("groups") as unknown as { db: { groups: Collection<GroupDoc> } }).db.groups;
		cursors = (f.app.broker.getLocalService("messages") as unknown as { db: { cursors: Collection<CursorDoc> } }).db.cursors;
	});
	afterEach(() => restore.splice(0).forEach(undo => undo()));

	/** This node's later tries of unfinished changes wait until the test ends: what a retry completes is the retry's doing. */
	function holdSettler(): void {
		const settler = (f.app.broker.getLocalService("groups") as unknown as { settler: { later(groupId: string): void } }).settler;
		const later = settler.later;
		settler.later = () => undefined;
		restore.push(() => (settler.later = later));
	}

	/** The group's write that records the change (the one that sets updatedAt) fails `times` times: the store refuses it. */
	function failRecord(groupId: string, times: number): void {
		const updateById = groups.updateById;
		groups.updateById = function (this: Collection<GroupDoc>, id, update) {
			const $set = (update as { $set?: Record<string, unknown> }).$set ?? {};
			if (id === groupId && $set.updatedAt && times-- > 0) return Promise.reject(new Error("the store is unavailable"));
			return updateById.call(this, id, update);
		};
		restore.push(() => (groups.updateById = updateById));
	}

	/** `messages.membersChanged` answers 504 `times` times (Infinity: until the returned function is called). */
	function failMembersChanged(times: number): { calls: () => number; heal(): void } {
		const broker = f.app.broker as unknown as { call: (action: string, ...rest: unknown[]) => Promise<unknown> };
		const call = broker.call;
		let left = times;
		let calls = 0;
		broker.call = function (this: unknown, action: string, ...rest: unknown[]) {
			if (action !== "messages.membersChanged") return call.call(this, action, ...rest);
			calls++;
			if (left-- > 0) return Promise.reject(new Errors.RequestTimeoutError({ action, nodeID: "test" }));
			return call.call(this, action, ...rest);
		};
		const heal = () => {
			left = 0;
			broker.call = call;
		};
		restore.push(heal);
		return { calls: () => calls, heal };
	}
	const unsettled = async (groupId: string) => Object.keys((await groups.findById(groupId))?.unsettled ?? {});
	const hasCursor = async (groupId: string, user: TestUser) => (await cursors.findById(cursorId(groupId, user.user.id))) != null;
	const memberIds = async (groupId: string) => ((await f.api(alice).get(`/api/groups/${groupId}`)).body.members as { userId: string }[]).map(m => m.userId);

	async function assertLockedOut(groupId: string, user: TestUser): Promise<void> {
		assert.equal((await f.api(user).get(`/api/messages/${groupId}`)).status, 404, "history");
		assert.equal((await f.api(user).post("/api/messages", { groupId, content: "still here?" })).status, 404, "send");
		assert.equal((await f.api(user).get(`/api/groups/${groupId}`)).status, 404, "the group");
		assert.ok(!(await f.api(user).get("/api/groups")).body.items.some((g: { id: string }) => g.id === groupId), "the list");
	}

	test("a removal whose cursor drop fails once is complete at once: no access, no live events, no receipt", async () => {
		const g = await f.group(alice, "Once", [bob, carol]);
		await f.send(alice, g, "before");
		const socket = await f.connect(bob);
		assert.equal((await f.api(bob).get(`/api/messages/${g}`)).status, 200, "his membership is cached");
		const removedEvents = collect(socket, "group.member.removed");
		const incoming = collect(socket, "chat.message.incoming");
		const failing = failMembersChanged(1);

		const removal = await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`);
		assert.equal(removal.status, 200, JSON.stringify(removal.body));
		assert.equal(failing.calls(), 2, "tried again");
		await assertLockedOut(g, bob);
		await waitFor(() => removedEvents.length === 1, "bob's socket hears the removal");
		await f.send(alice, g, "after bob left");
		const receipts = (await f.api(alice).get(`/api/messages/${g}/receipts`)).body.items.map((r: { userId: string }) => r.userId);
		assert.ok(!receipts.includes(bob.user.id), "his cursor is gone");
		assert.deepEqual(await unsettled(g), []);
		await new Promise(r => setTimeout(r, 100));
		assert.deepEqual(
			incoming.map(m => m.content),
			[],
			"nothing reaches his socket after the removal"
		);
	});

	test("a removal whose cursor drop keeps failing is done everywhere else, and the cursor goes later", async () => {
		const g = await f.group(alice, "Keeps failing", [bob, carol]);
		const socket = await f.connect(bob);
		const removedEvents = collect(socket, "group.member.removed");
		const failing = failMembersChanged(Infinity);

		const removal = await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`);
		assert.equal(removal.status, 200, "the removal happened: its answer says so");
		assert.deepEqual(removal.body.members.map((m: { userId: string }) => m.userId).sort(), [alice.user.id, carol.user.id].sort());
		await assertLockedOut(g, bob);
		await waitFor(() => removedEvents.length === 1, "bob's socket hears the removal");
		assert.ok(await hasCursor(g, bob), "only the messages side is left");
		assert.equal((await unsettled(g)).length, 1);

		failing.heal();
		await waitFor(async () => !(await hasCursor(g, bob)) && (await unsettled(g)).length === 0, "this node drops the cursor later", 8000, 100);
		assert.equal((await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`)).status, 404, "then a second removal is 404, as documented");
	});

	test("a removal cut off after the membership write is completed by its retry; other non-members stay 404", async () => {
		const g = await f.group(alice, "Cut off", [bob]);
		const socket = await f.connect(bob);
		const removedEvents = collect(socket, "group.member.removed");
		holdSettler();
		failRecord(g, 1);

		const first = await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`);
		assert.equal(first.status, 500);
		await assertLockedOut(g, bob);
		assert.deepEqual(await memberIds(g), [alice.user.id]);

		const retry = await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`);
		assert.equal(retry.status, 200, JSON.stringify(retry.body));
		assert.deepEqual(
			retry.body.members.map((m: { userId: string }) => m.userId),
			[alice.user.id]
		);
		await waitFor(() => removedEvents.length === 1, "the retry broadcast the removal");
		assert.ok(!(await hasCursor(g, bob)));
		assert.deepEqual(await unsettled(g), []);
		assert.equal((await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`)).status, 404, "a second removal of a finished one");
		assert.equal((await f.api(alice).del(`/api/groups/${g}/members/${carol.user.id}`)).status, 404, "someone who never was a member");
	});

	test("a removal cut off that nobody retries is completed by this node later", async () => {
		const g = await f.group(alice, "Not retried", [bob]);
		const socket = await f.connect(bob);
		const removedEvents = collect(socket, "group.member.removed");
		failRecord(g, 1);
		assert.equal((await f.api(alice).del(`/api/groups/${g}/members/${bob.user.id}`)).status, 500);
		await assertLockedOut(g, bob);
		await waitFor(async () => removedEvents.length === 1 && (await unsettled(g)).length === 0, "the removal completed", 8000, 100);
		assert.ok(!(await hasCursor(g, bob)));
	});

	test("an addition whose cursor start keeps failing shows the new member at once; its retry sets the cursor", async () => {
		const g = await f.group(alice, "Add", [bob]);
		await f.send(alice, g, "history");
		const socket = await f.connect(carol);
		const added = collect(socket, "group.member.added");
		failMembersChanged(Infinity);

		const first = await f.api(alice).post(`/api/groups/${g}/members`, { userIds: [carol.user.id] });
		assert.equal(first.status, 200);
		assert.ok((await memberIds(g)).includes(carol.user.id));
		assert.equal((await f.api(carol).get(`/api/messages/${g}`)).status, 200, "she reads the conversation");
		assert.ok(
			(await f.api(carol).get("/api/groups")).body.items.some((x: { id: string }) => x.id === g),
			"and has it in her list"
		);
		await waitFor(() => added.length === 1, "her socket hears it");
		assert.equal((await f.api(carol).post(`/api/messages/${g}/seen`, { seq: 1 })).status, 404, "without a cursor her receipts are refused");

		restore.splice(0).forEach(undo => undo());
		const retry = await f.api(alice).post(`/api/groups/${g}/members`, { userIds: [carol.user.id] });
		assert.equal(retry.status, 200);
		assert.ok(await hasCursor(g, carol), "the retry set her cursor");
		assert.deepEqual(await unsettled(g), []);
		const seen = await f.api(carol).post(`/api/messages/${g}/seen`, { seq: 2 });
		assert.equal(seen.status, 200, JSON.stringify(seen.body));
		assert.equal((await f.api(carol).get(`/api/groups/${g}`)).body.unreadCount, 0);
	});

	test("a creation whose cursor start keeps failing is in every member's list at once; the cursors come later", async () => {
		const failing = failMembersChanged(Infinity);
		const created = await f.api(alice).post("/api/groups", { name: "New", memberIds: [bob.user.id] });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const g = created.body.id as string;
		assert.ok(
			(await f.api(bob).get("/api/groups")).body.items.some((x: { id: string }) => x.id === g),
			"bob's list has it"
		);
		assert.equal((await unsettled(g)).length, 1);

		failing.heal();
		await waitFor(async () => (await hasCursor(g, alice)) && (await hasCursor(g, bob)) && (await unsettled(g)).length === 0, "the cursors", 8000, 100);
	});
});
