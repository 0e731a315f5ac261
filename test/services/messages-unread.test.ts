import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Group } from "../../contract/groups.ts";
import type { Receipt } from "../../contract/messages.ts";
import { client, flushWriteBehind, type TestUser, useTestApp } from "../helpers/app.ts";
import { collect, emitWithAck, waitForEvent } from "../helpers/socket.ts";

describe("mark as unread", () => {
	const t = useTestApp(["alice", "bob", "carol"]);
	const { api, connect } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser;
	before(() => void ([alice, bob, carol] = t.users));
	/** A group of alice and bob with `count` messages from alice, read by bob to the end. */
	const conversation = async (name: string, count: number) => {
		const created = await api(alice).post("/api/groups", { name, memberIds: [bob.user.id] });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const groupId = created.body.id as string;
		for (let i = 1; i <= count; i++) {
			const sent = await api(alice).post("/api/messages", { groupId, content: `message ${i}` });
			assert.equal(sent.status, 201, JSON.stringify(sent.body));
		}
		const seen = await api(bob).post(`/api/messages/${groupId}/seen`, { seq: count });
		assert.equal(seen.status, 200, JSON.stringify(seen.body));
		return groupId;
	};
	const groupOf = async (user: TestUser, groupId: string): Promise<Group> => {
		const res = await api(user).get(`/api/groups/${groupId}`);
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return res.body;
	};
	const inList = async (user: TestUser, groupId: string): Promise<Group | undefined> => {
		const res = await api(user).get("/api/groups?limit=100");
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return (res.body.items as Group[]).find(g => g.id === groupId);
	};
	const receiptOf = async (groupId: string, userId: string): Promise<Receipt | undefined> => {
		const res = await api(alice).get(`/api/messages/${groupId}/receipts`);
		return (res.body.items as Receipt[]).find(r => r.userId === userId);
	};
	const markUnread = (user: TestUser, groupId: string, body: unknown) => api(user).post(`/api/messages/${groupId}/unread`, body);

	test("over REST: the conversation counts as unread from the marker, in the group and in the list; receipts others see stay", async () => {
		const groupId = await conversation("Unread REST", 5);
		const aliceSocket = await connect(alice);
		const seenByAlice = collect(aliceSocket, "chat.message.seen");
		const readStateByAlice = collect(aliceSocket, "group.read-state");

		const res = await markUnread(bob, groupId, { seq: 3 });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.deepEqual(res.body, { groupId, readSeq: 5, unreadFrom: 3 });

		const group = await groupOf(bob, groupId);
		assert.equal(group.unreadFrom, 3);
		assert.equal(group.unreadCount, 3, "messages 3, 4 and 5 are unread again");
		assert.equal(group.readSeq, 5, "the read cursor does not move back");
		const listed = await inList(bob, groupId);
		assert.equal(listed?.unreadFrom, 3);
		assert.equal(listed?.unreadCount, 3);

		assert.deepEqual(await receiptOf(groupId, bob.user.id), { userId: bob.user.id, deliveredSeq: 5, readSeq: 5 });
		const history = await api(alice).get(`/api/messages/${groupId}?limit=10`);
		assert.ok(
			history.body.items.every((m: { status: string }) => m.status === "seen"),
			"alice's messages stay seen"
		);
		// The next message alice sends settles everything before it: nothing about bob's read state reached her.
		const arrived = waitForEvent(aliceSocket, "chat.message.incoming", (m: { content: string }) => m.content === "after");
		await api(alice).post("/api/messages", { groupId, content: "after" });
		await arrived;
		assert.deepEqual(seenByAlice, []);
		assert.deepEqual(readStateByAlice, []);
		assert.equal((await groupOf(alice, groupId)).unreadFrom, null, "the marker is bob's own");

		const after = await groupOf(bob, groupId);
		assert.equal(after.lastSeq, 6);
		assert.equal(after.unreadCount, 4, "a new message adds to the marked count");
	});

	test("over the socket; the caller's other devices are told, other members are not", async () => {
		const groupId = await conversation("Unread socket", 4);
		const [bob1, bob2, alice1] = await Promise.all([connect(bob), connect(bob), connect(alice)]);
		const aliceHeard = collect(alice1, "group.read-state");
		const told = Promise.all([bob1, bob2].map(s => waitForEvent(s, "group.read-state", (e: { groupId: string }) => e.groupId === groupId)));

		const ack = await emitWithAck(bob1, "chat.message.unread", { groupId, seq: 2 });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		assert.deepEqual({ groupId: ack.groupId, readSeq: ack.readSeq, unreadFrom: ack.unreadFrom }, { groupId, readSeq: 4, unreadFrom: 2 });
		for (const event of await told) assert.deepEqual(event, { groupId, readSeq: 4, unreadFrom: 2 });

		assert.equal((await groupOf(bob, groupId)).unreadCount, 3);
		assert.deepEqual(await receiptOf(groupId, bob.user.id), { userId: bob.user.id, deliveredSeq: 4, readSeq: 4 });
		// A receipt round trip for alice: had anything been sent to her, it would have arrived before this ack.
		await emitWithAck(alice1, "chat.message.seen", { groupId, seq: 4 });
		assert.deepEqual(aliceHeard, []);
	});

	test("reading again clears it: a read receipt that reaches the read cursor; one behind it does not", async () => {
		const groupId = await conversation("Unread cleared", 6);
		const bob1 = await connect(bob);
		assert.equal((await markUnread(bob, groupId, { seq: 2 })).status, 200);

		// Reading message 4 again is not reading what was marked: the marker stays.
		const partial = await emitWithAck(bob1, "chat.message.seen", { groupId, seq: 4 });
		assert.equal(partial.moved, false);
		assert.equal((await groupOf(bob, groupId)).unreadFrom, 2);

		const cleared = waitForEvent(bob1, "group.read-state", (e: { groupId: string }) => e.groupId === groupId);
		const res = await api(bob).post(`/api/messages/${groupId}/seen`, { seq: 6 });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.equal(res.body.moved, false, "the cursor was already there");
		assert.deepEqual(await cleared, { groupId, readSeq: 6, unreadFrom: null });
		const group = await groupOf(bob, groupId);
		assert.equal(group.unreadFrom, null);
		assert.equal(group.unreadCount, 0);
	});

	test("a new message read to the end clears it, and the marker survives only behind the read cursor", async () => {
		const groupId = await conversation("Unread then more", 3);
		assert.equal((await markUnread(bob, groupId, { seq: 1 })).status, 200);
		await api(alice).post("/api/messages", { groupId, content: "four" });
		assert.equal((await groupOf(bob, groupId)).unreadCount, 4);
		assert.equal((await api(bob).post(`/api/messages/${groupId}/seen`, { seq: 4 })).body.moved, true);
		const group = await groupOf(bob, groupId);
		assert.equal(group.unreadFrom, null);
		assert.equal(group.unreadCount, 0);
		assert.equal((await receiptOf(groupId, bob.user.id))?.readSeq, 4);

		// Marking unread where nothing is read yet changes nothing the reader sees: those messages are unread already.
		const fresh = await conversation("Unread ahead", 2);
		await api(alice).post("/api/messages", { groupId: fresh, content: "three" });
		const ahead = await markUnread(bob, fresh, { seq: 3 });
		assert.deepEqual(ahead.body, { groupId: fresh, readSeq: 2, unreadFrom: null });
		assert.equal((await groupOf(bob, fresh)).unreadCount, 1);
	});

	test("the sender may mark their own message unread (own messages count as read until then)", async () => {
		const groupId = await conversation("Own message", 2);
		const res = await markUnread(alice, groupId, { seq: 2 });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.deepEqual(res.body, { groupId, readSeq: 2, unreadFrom: 2 });
		assert.equal((await groupOf(alice, groupId)).unreadCount, 1);
	});

	test("writing in the conversation reads it: a send clears the sender's marker at once and once stored; a marker set after the send stays", async () => {
		const groupId = await conversation("Reply clears", 5);
		const flushed = () => flushWriteBehind(t.app);
		assert.equal((await markUnread(bob, groupId, { seq: 3 })).status, 200);
		const reply = await api(bob).post("/api/messages", { groupId, content: "on it" });
		assert.equal(reply.status, 201);
		for (const when of ["before the write-behind", "once stored"]) {
			const group = await groupOf(bob, groupId);
			assert.deepEqual([group.unreadFrom, group.unreadCount, group.readSeq], [null, 0, 6], when);
			await flushed();
		}
		// Marked unread again right after another send (its read not stored yet): the marker is the later act.
		assert.equal((await api(bob).post("/api/messages", { groupId, content: "one more" })).status, 201);
		assert.equal((await markUnread(bob, groupId, { seq: 6 })).status, 200);
		await flushed();
		const group = await groupOf(bob, groupId);
		assert.deepEqual([group.unreadFrom, group.unreadCount, group.readSeq], [6, 2, 7]);
	});

	test("validation: the seq must name a message (1..lastSeq); authorization: members only", async () => {
		const groupId = await conversation("Unread refusals", 3);
		for (const body of [{ seq: 4 }, { seq: 0 }, {}, { seq: "2" }, { seq: 1.5 }]) {
			const res = await markUnread(bob, groupId, body);
			assert.equal(res.status, 422, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
			assert.equal(res.body.type, "VALIDATION_ERROR");
			assert.equal(res.body.data[0].field, "seq");
		}
		const empty = await api(alice).post("/api/groups", { name: "Empty", memberIds: [bob.user.id] });
		assert.equal((await markUnread(bob, empty.body.id, { seq: 1 })).status, 422, "nothing to mark in an empty conversation");

		assert.equal((await markUnread(carol, groupId, { seq: 1 })).status, 404, "non-members do not learn it exists");
		assert.equal((await markUnread(bob, "0123456789abcdef01234567", { seq: 1 })).status, 404);
		assert.equal((await client(t.app).post(`/api/messages/${groupId}/unread`, { seq: 1 })).status, 401);
		const carolSocket = await connect(carol);
		const ack = await emitWithAck(carolSocket, "chat.message.unread", { groupId, seq: 1 });
		assert.equal(ack.ok, false);
		assert.equal(ack.error?.code, 404);
		assert.equal((await groupOf(bob, groupId)).unreadFrom, null, "nothing was stored by the refusals");
	});

	test("leaving and rejoining starts afresh: the marker goes with the cursor", async () => {
		const groupId = await conversation("Rejoin", 3);
		assert.equal((await markUnread(bob, groupId, { seq: 1 })).status, 200);
		assert.equal((await api(alice).del(`/api/groups/${groupId}/members/${bob.user.id}`)).status, 200);
		assert.equal((await api(alice).post(`/api/groups/${groupId}/members`, { userIds: [bob.user.id] })).status, 200);
		const group = await groupOf(bob, groupId);
		assert.equal(group.unreadFrom, null);
		assert.equal(group.unreadCount, 0);
	});
});
