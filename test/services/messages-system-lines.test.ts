import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Message, SyncResult } from "../../contract/messages.ts";
import { client, flushWriteBehind, registerUser, startTestApp, type TestUser, useTestApp } from "../helpers/app.ts";
import { collect, emitWithAck, waitForEvent, type Ack } from "../helpers/socket.ts";

describe("system lines: group changes in the timeline", () => {
	const t = useTestApp(["alice", "bob", "carol", "dave"]);
	const { api, connect } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;
	before(() => void ([alice, bob, carol, dave] = t.users));
	const ok = async <T = any>(res: Promise<{ status: number; body: T }>, status = 200): Promise<T> => {
		const { status: got, body } = await res;
		assert.equal(got, status, JSON.stringify(body));
		return body;
	};
	const send = (user: TestUser, groupId: string, content: string) => ok<Message>(api(user).post("/api/messages", { groupId, content }), 201);
	const history = async (user: TestUser, groupId: string) => (await ok<{ items: Message[] }>(api(user).get(`/api/messages/${groupId}?limit=100`))).items;
	/** What a timeline shows of each entry: its seq, who, and the line or the text. */
	const entries = (messages: Message[]) => messages.map(m => [m.seq, m.senderId, m.system ?? m.content]);

	test("each change takes the next seq, reaches the members after it, is read by its actor, and comes back in history and sync", async () => {
		const g = await ok(api(alice).post("/api/groups", { name: "Team", memberIds: [bob.user.id] }), 201);
		assert.deepEqual(await history(alice, g.id), [], "the creation of a group is no line");
		const [a, b, c] = await Promise.all([connect(alice), connect(bob), connect(carol)]);
		const heard = [a, b, c].map(s => collect<Message>(s, "chat.message.incoming"));

		await send(alice, g.id, "hello");
		await ok(api(alice).post(`/api/groups/${g.id}/members`, { userIds: [carol.user.id] }));
		const carolView = await ok(api(carol).get(`/api/groups/${g.id}`));
		assert.equal(carolView.unreadCount, 0, "a new member joins caught up, the line that added them included");
		await send(bob, g.id, "hi carol");
		await ok(api(alice).put(`/api/groups/${g.id}`, { name: "Team 2" }));
		await ok(api(alice).put(`/api/groups/${g.id}/members/${bob.user.id}`, { role: "admin" }));
		await ok(api(bob).del(`/api/groups/${g.id}/members/${carol.user.id}`));
		const bobView = await ok(api(bob).get(`/api/groups/${g.id}`));
		assert.deepEqual([bobView.lastSeq, bobView.readSeq, bobView.unreadCount], [6, 6, 0], "the actor has read their own line");
		const last = waitForEvent<Message>(a, "chat.message.incoming", m => m.seq === 7);
		await ok(api(bob).del(`/api/groups/${g.id}/members/${bob.user.id}`));
		await last;

		const expected = [
			[1, alice.user.id, "hello"],
			[2, alice.user.id, { type: "members.added", userIds: [carol.user.id] }],
			[3, bob.user.id, "hi carol"],
			[4, alice.user.id, { type: "group.renamed", name: "Team 2", previousName: "Team" }],
			[5, alice.user.id, { type: "role.changed", userId: bob.user.id, role: "admin" }],
			[6, bob.user.id, { type: "member.removed", userId: carol.user.id }],
			[7, bob.user.id, { type: "member.left" }]
		];
		const stored = await history(alice, g.id);
		assert.deepEqual(entries(stored), expected);
		for (const line of stored.filter(m => m.system)) {
			assert.equal(line.content, "");
			assert.deepEqual(line.mentions, [], "a line mentions nobody");
			assert.equal(line.mentionsAll, false);
			assert.equal(line.replyTo, null);
		}

		const [toAlice, toBob, toCarol] = heard.map(list => entries(list));
		assert.deepEqual(toAlice, expected, "live, in seq order, once each");
		assert.deepEqual(toBob, expected.slice(0, 6), "whoever left does not hear the line of their leaving");
		assert.deepEqual(toCarol, expected.slice(1, 5), "an added user hears the line that added them; a removed one not that of the removal");

		const aliceView = await ok(api(alice).get(`/api/groups/${g.id}`));
		assert.deepEqual([aliceView.lastSeq, aliceView.readSeq, aliceView.unreadCount], [7, 5, 2], "others' lines are unread like messages");
		assert.deepEqual(aliceView.lastMessage.system, { type: "member.left" });

		const sync = await emitWithAck<Ack & SyncResult>(a, "chat.sync", { cursors: { [g.id]: 1 } });
		assert.equal(sync.ok, true, JSON.stringify(sync));
		assert.deepEqual(entries(sync.items[0].messages), expected.slice(1), "gap-fill carries the lines");
		assert.equal((await api(carol).get(`/api/messages/${g.id}`)).status, 404, "a removed member reads no more of it");
	});

	test("the last owner leaving: their line, then the hand-over to the heir, by them; they hear neither and get no cursor back", async () => {
		const g = await ok(api(alice).post("/api/groups", { name: "Heirs", memberIds: [bob.user.id, carol.user.id] }), 201);
		await ok(api(alice).put(`/api/groups/${g.id}/members/${carol.user.id}`, { role: "admin" }));
		const [a, b] = await Promise.all([connect(alice), connect(bob)]);
		const [toAlice, toBob] = [a, b].map(s => collect<Message>(s, "chat.message.incoming"));
		const handedOver = waitForEvent<Message>(b, "chat.message.incoming", m => m.system?.type === "role.changed" && m.system.role === "owner");
		await ok(api(alice).del(`/api/groups/${g.id}/members/${alice.user.id}`));
		await handedOver;
		const lines = [
			[1, alice.user.id, { type: "role.changed", userId: carol.user.id, role: "admin" }],
			[2, alice.user.id, { type: "member.left" }],
			[3, alice.user.id, { type: "role.changed", userId: carol.user.id, role: "owner" }]
		];
		assert.deepEqual(entries(await history(bob, g.id)), lines);
		assert.deepEqual(entries(toBob), lines.slice(1));
		assert.deepEqual(toAlice, [], "whoever left hears nothing more");
		await flushWriteBehind(t.app);
		const cursors = (await ok<{ items: { userId: string }[] }>(api(bob).get(`/api/messages/${g.id}/receipts`))).items;
		assert.deepEqual(cursors.map(c => c.userId).sort(), [bob.user.id, carol.user.id].sort(), "the leaver's read of the line wrote no cursor");
	});

	test("direct conversations get no lines; changes that change nothing add none", async () => {
		const dm = await ok(api(alice).post("/api/groups", { type: "direct", memberIds: [dave.user.id] }), 201);
		assert.equal((await api(alice).put(`/api/groups/${dm.id}`, { name: "Ours" })).status, 403);
		assert.equal((await api(alice).post(`/api/groups/${dm.id}/members`, { userIds: [carol.user.id] })).status, 403);
		assert.deepEqual(await history(alice, dm.id), []);

		const g = await ok(api(alice).post("/api/groups", { name: "Quiet", memberIds: [dave.user.id] }), 201);
		await ok(api(alice).put(`/api/groups/${g.id}`, { name: "Quiet" }));
		await ok(api(alice).post(`/api/groups/${g.id}/members`, { userIds: [dave.user.id] }));
		await ok(api(alice).put(`/api/groups/${g.id}/members/${dave.user.id}`, { role: "member" }));
		assert.deepEqual(await history(alice, g.id), []);
	});

	test("nobody edits, deletes, reacts or replies to a system line", async () => {
		const g = await ok(api(alice).post("/api/groups", { name: "Locked", memberIds: [] }), 201);
		await ok(api(alice).post(`/api/groups/${g.id}/members`, { userIds: [bob.user.id] }));
		const [line] = await history(alice, g.id);
		assert.ok(line.system);

		const edit = await api(alice).request("PATCH", `/api/messages/${line.id}`, { content: "rewritten" });
		assert.deepEqual([edit.status, edit.body.type], [409, "SYSTEM_MESSAGE"], "not even by its actor");
		const s = await connect(alice);
		const socketEdit = await emitWithAck(s, "chat.message.edit", { messageId: line.id, content: "rewritten" });
		assert.deepEqual([socketEdit.ok, socketEdit.error?.code, socketEdit.error?.type], [false, 409, "SYSTEM_MESSAGE"]);
		const del = await api(alice).del(`/api/messages/${line.id}`);
		assert.deepEqual([del.status, del.body.type], [409, "SYSTEM_MESSAGE"], "not even by the owner");
		const react = await api(bob).put(`/api/messages/${line.id}/reactions/${encodeURIComponent("👍")}`);
		assert.deepEqual([react.status, react.body.type], [409, "SYSTEM_MESSAGE"], JSON.stringify(react.body));
		const socketReact = await emitWithAck(s, "chat.message.react", { messageId: line.id, emoji: "👍", on: true });
		assert.deepEqual([socketReact.ok, socketReact.error?.type], [false, "SYSTEM_MESSAGE"]);
		const reply = await api(bob).post("/api/messages", { groupId: g.id, content: "re", replyTo: line.id });
		assert.equal(reply.status, 422, JSON.stringify(reply.body));
		assert.equal(reply.body.data[0].field, "replyTo");

		assert.deepEqual(await history(alice, g.id), [line], "nothing changed");
	});

	test("a line that cannot be appended is logged and the group change still succeeds", async () => {
		// A conversation whose send queue admits nothing refuses every append (503), as an overloaded node would.
		const strict = await startTestApp({ overload: { ...t.app.config.overload, maxQueuedPerConversation: 0 } });
		try {
			const [owner, member] = await Promise.all([registerUser(strict, "owner"), registerUser(strict, "member")]);
			const own = client(strict, owner.accessToken);
			const g = (await own.post("/api/groups", { name: "Busy", memberIds: [] })).body;
			const added = await own.post(`/api/groups/${g.id}/members`, { userIds: [member.user.id] });
			assert.equal(added.status, 200, JSON.stringify(added.body));
			const renamed = await own.put(`/api/groups/${g.id}`, { name: "Busy 2" });
			assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
			assert.equal(renamed.body.name, "Busy 2");
			assert.equal(renamed.body.memberCount, 2);
			assert.deepEqual((await own.get(`/api/messages/${g.id}`)).body.items, []);
		} finally {
			await strict.stop();
		}
	});
});
