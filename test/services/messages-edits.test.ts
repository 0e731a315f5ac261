import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Message, SyncResult } from "../../contract/messages.ts";
import { useTestApp, type TestUser } from "../helpers/app.ts";
import { collect, emitWithAck, waitForEvent, type Ack, type ClientSocket } from "../helpers/socket.ts";

/** The stored facts of a message, without the receipt counts (another member's view differs). */
const facts = ({ status: _s, deliveredCount: _d, seenCount: _c, ...rest }: Message) => rest;

describe("message edits, replies and the change order", () => {
	const t = useTestApp(["alice", "bob", "carol"]);
	const { api, connect } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser;
	before(() => void ([alice, bob, carol] = t.users));
	const group = (name: string) => t.group(alice, name, [bob]);
	const { send, history } = t;
	const patch = (user: TestUser, id: string, body: unknown) => api(user).request("PATCH", `/api/messages/${id}`, body);

	test("the author edits over REST: same seq, editedAt, a new version; every member socket hears it once", async () => {
		const groupId = await group("Edits");
		const [alice1, alice2, bob1] = await Promise.all([connect(alice), connect(alice), connect(bob)]);
		const heard = [alice1, alice2, bob1].map(s => collect<Message>(s, "chat.message.updated"));
		const original = await send(alice, groupId, "helo");
		assert.equal(original.editedAt, null);
		assert.equal(original.replyTo, null);

		const res = await patch(alice, original.id, { content: "  hello\r\nworld " });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.equal(res.body.content, "hello\nworld");
		assert.equal(res.body.seq, original.seq);
		assert.ok(res.body.version > original.version);
		assert.ok(Date.parse(res.body.editedAt) >= Date.parse(original.createdAt));

		// Events reach a socket in order: once the next message is there, every update before it is too.
		const arrived = Promise.all([alice1, alice2, bob1].map(s => waitForEvent<Message>(s, "chat.message.incoming", m => m.content === "after the edit")));
		await send(bob, groupId, "after the edit");
		await arrived;
		for (const seen of heard) assert.deepEqual(seen.map(facts), [facts(res.body)]);

		const [stored] = (await api(bob).get(`/api/messages/${groupId}?after=${original.seq - 1}&limit=1`)).body.items;
		assert.deepEqual(facts(stored), facts(res.body));
		assert.equal((await patch(alice, original.id, { content: "hello\nworld" })).body.version, res.body.version, "the same text changes nothing");
	});

	test("the author edits over the socket; refusals: others 403, non-members and unknown ids 404, deleted 409, content rules 422", async () => {
		const groupId = await group("Refusals");
		const socket = await connect(alice);
		const mine = await send(alice, groupId, "mine");
		const ack = await emitWithAck(socket, "chat.message.edit", { messageId: mine.id, content: "edited by socket" });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		assert.equal(ack.message.content, "edited by socket");
		assert.ok(ack.message.editedAt);

		const code = (a: Ack) => a.error?.code;
		assert.equal((await patch(bob, mine.id, { content: "not yours" })).status, 403);
		assert.equal(code(await emitWithAck(await connect(bob), "chat.message.edit", { messageId: mine.id, content: "not yours" })), 403);
		assert.equal((await patch(carol, mine.id, { content: "who?" })).status, 404);
		assert.equal((await patch(alice, "aaaaaaaaaaaaaaaaaaaaaaaa", { content: "x" })).status, 404);
		assert.equal((await patch(alice, "nope", { content: "x" })).status, 422);
		assert.equal(code(await emitWithAck(socket, "chat.message.edit", { messageId: "nope", content: "x" })), 422);
		for (const content of ["", "   ", "\u200b", "x".repeat(4001), "bell\u0007", 42, { $gt: "" }, undefined]) {
			const res = await patch(alice, mine.id, { content });
			assert.equal(res.status, 422, `${JSON.stringify(content)?.slice(0, 20)}: ${JSON.stringify(res.body)}`);
		}
		const [after] = (await api(alice).get(`/api/messages/${groupId}`)).body.items;
		assert.equal(after.content, "edited by socket", "refused edits stored nothing");

		assert.equal((await api(alice).del(`/api/messages/${mine.id}`)).status, 200);
		const deleted = await patch(alice, mine.id, { content: "back from the dead" });
		assert.equal(deleted.status, 409);
		assert.equal(deleted.body.type, "MESSAGE_DELETED");
	});

	test("members read the edit history; a delete clears it", async () => {
		const groupId = await group("History");
		const sent = await send(alice, groupId, "one");
		for (const content of ["two", "three"]) assert.equal((await patch(alice, sent.id, { content })).status, 200);
		const res = await api(bob).get(`/api/messages/${sent.id}/history`);
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.deepEqual(
			res.body.items.map((e: { content: string }) => e.content),
			["one", "two"]
		);
		assert.equal(res.body.items[0].editedAt, sent.createdAt, "the first text dates from the send");
		assert.ok(Date.parse(res.body.items[1].editedAt) >= Date.parse(sent.createdAt));
		assert.equal((await api(carol).get(`/api/messages/${sent.id}/history`)).status, 404);
		assert.equal((await api(alice).del(`/api/messages/${sent.id}`)).status, 200);
		assert.deepEqual((await api(bob).get(`/api/messages/${sent.id}/history`)).body, { items: [] });
	});

	test("a reply names a message of the same conversation; its excerpt follows the original's edits and delete", async () => {
		const groupId = await group("Replies");
		const elsewhere = await send(alice, await group("Elsewhere"), "over there");
		const bobSocket = await connect(bob);
		const original = await send(alice, groupId, "x".repeat(200));

		const other = await api(bob).post("/api/messages", { groupId, content: "re", replyTo: elsewhere.id });
		assert.equal(other.status, 422);
		assert.equal(other.body.data[0].field, "replyTo");
		const unknown = await api(bob).post("/api/messages", { groupId, content: "re", replyTo: "aaaaaaaaaaaaaaaaaaaaaaaa" });
		assert.equal(unknown.status, 422);
		assert.equal(unknown.body.data[0].field, "replyTo");

		const ack = await emitWithAck(bobSocket, "chat.message.send", { groupId, content: "an answer", replyTo: original.id });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		const reply = ack.message as Message;
		assert.deepEqual(reply.replyTo, { id: original.id, seq: original.seq, senderId: alice.user.id, excerpt: "x".repeat(140) + "…" });

		const updated = (content?: string) =>
			waitForEvent<Message>(
				bobSocket,
				"chat.message.updated",
				m => m.id === reply.id && (content === undefined ? m.replyTo!.excerpt === null : m.replyTo!.excerpt === content)
			);
		const refreshed = updated("short now");
		assert.equal((await patch(alice, original.id, { content: "short now" })).status, 200);
		const afterEdit = await refreshed;
		assert.ok(afterEdit.version > reply.version, "a refreshed reply is a change of its own");
		const stored = async () => (await history(bob, groupId)).find(m => m.id === reply.id)!;
		assert.equal((await stored()).replyTo!.excerpt, "short now");

		const gone = updated();
		assert.equal((await api(alice).del(`/api/messages/${original.id}`)).status, 200);
		assert.ok((await gone).version > afterEdit.version);
		assert.deepEqual((await stored()).replyTo, { id: original.id, seq: original.seq, senderId: alice.user.id, excerpt: null });
	});

	test("a reply whose original is edited or deleted after the send read it carries the original's text as it is after that", async () => {
		const groupId = await group("Reply races");
		const log = (t.app.broker.getLocalService("messages") as unknown as { db: { messages: { findById(id: string): Promise<unknown> } } }).db.messages;
		const findById = log.findById;
		try {
			for (const change of ["edit", "delete"] as const) {
				const original = await send(alice, groupId, `before the ${change}`);
				// The send's first read of the original returns, then waits until the change is done.
				let readByReply!: () => void;
				const replyRead = new Promise<void>(resolve => (readByReply = resolve));
				let changeDone!: () => void;
				const changed = new Promise<void>(resolve => (changeDone = resolve));
				let first = true;
				log.findById = async function (this: unknown, id: string) {
					const doc = await findById.call(this, id);
					if (id === original.id && first) {
						first = false;
						readByReply();
						await changed;
					}
					return doc;
				};
				const replying = send(bob, groupId, "about that", { replyTo: original.id });
				await replyRead;
				const res = await (change === "edit" ? patch(alice, original.id, { content: "after the edit" }) : api(alice).del(`/api/messages/${original.id}`));
				assert.equal(res.status, 200, JSON.stringify(res.body));
				changeDone();
				const reply = await replying;
				const expected = change === "edit" ? "after the edit" : null;
				assert.equal(reply.replyTo!.excerpt, expected, `${change}: the send's answer`);
				assert.equal((await history(bob, groupId)).find(m => m.id === reply.id)!.replyTo!.excerpt, expected, `${change}: as stored`);
				log.findById = findById;
			}
		} finally {
			log.findById = findById;
		}
	});

	test("a deleted reply keeps which message it answered, not that message's text", async () => {
		const groupId = await group("Tombstone replies");
		const original = await send(alice, groupId, "the door code is 4711");
		const reply = await send(bob, groupId, "thanks", { replyTo: original.id });
		const bobSocket = await connect(bob);
		const token = ((await emitWithAck(bobSocket, "chat.sync", { cursors: { [groupId]: 2 } })) as unknown as SyncResult).syncToken;

		const tombstone = await api(bob).del(`/api/messages/${reply.id}`);
		assert.equal(tombstone.status, 200, JSON.stringify(tombstone.body));
		const expected = { id: original.id, seq: original.seq, senderId: alice.user.id, excerpt: null };
		assert.deepEqual(tombstone.body.replyTo, expected);
		// The original goes too: nothing of its text is left anywhere.
		assert.equal((await api(alice).del(`/api/messages/${original.id}`)).status, 200);
		const stored = (await history(alice, groupId)).find(m => m.id === reply.id)!;
		assert.deepEqual(stored.replyTo, expected);
		const synced = (await emitWithAck(bobSocket, "chat.sync", { cursors: { [groupId]: 2 }, since: token })) as unknown as SyncResult;
		assert.deepEqual(synced.items[0].changed!.find(m => m.id === reply.id)!.replyTo, expected);
		assert.ok(!JSON.stringify(await history(bob, groupId)).includes("4711"));
	});

	test("a client that kept its syncToken comes back after edits, deletes and sends and ends with exactly the server's state", async () => {
		const groupId = await group("Offline");
		// More than one sync page of changes, so that the changes come in rounds too.
		const sent: Message[] = [];
		for (let i = 1; i <= 230; i++) sent.push(await send(i % 3 ? alice : bob, groupId, `m${i}`));
		const replyToOld = await send(bob, groupId, "about m5", { replyTo: sent[4].id });

		const local = new Map<string, Message>();
		let token: string | undefined;
		const syncAll = async (socket: ClientSocket) => {
			let rounds = 0;
			for (;;) {
				const cursor = Math.max(0, ...[...local.values()].map(m => m.seq));
				const ack = await emitWithAck(socket, "chat.sync", { cursors: { [groupId]: cursor }, ...(token ? { since: token } : {}) });
				assert.equal(ack.ok, true, JSON.stringify(ack).slice(0, 300));
				const result = ack as unknown as SyncResult;
				const [item] = result.items;
				for (const m of [...item.messages, ...(item.changed ?? [])]) local.set(m.id, m);
				token = result.syncToken;
				rounds++;
				if (!item.hasMore) return rounds;
			}
		};
		const first = await connect(alice);
		await syncAll(first);
		first.close();

		// Offline: older messages are edited and deleted (more than a page of them), new ones sent.
		for (const m of sent.slice(0, 210))
			assert.equal((await patch(m.senderId === alice.user.id ? alice : bob, m.id, { content: `${m.content} (edited)` })).status, 200);
		for (const m of [sent[4], sent[9], sent[220]]) assert.equal((await api(alice).del(`/api/messages/${m.id}`)).status, 200);
		for (let i = 1; i <= 5; i++) await send(bob, groupId, `while away ${i}`);

		const rounds = await syncAll(await connect(alice));
		assert.ok(rounds >= 2, "the changes came in pages");
		const server = await history(alice, groupId);
		assert.equal(local.size, server.length);
		assert.deepEqual([...local.values()].sort((x, y) => x.seq - y.seq).map(facts), server.map(facts));
		assert.equal(local.get(replyToOld.id)!.replyTo!.excerpt, null, "the reply learned that its original is gone");

		// Nothing changed since: the next sync carries nothing.
		const again = (await emitWithAck(await connect(alice), "chat.sync", { cursors: { [groupId]: server.length }, since: token })) as unknown as SyncResult &
			Ack;
		assert.deepEqual([again.items[0].messages, again.items[0].changed, again.items[0].hasMore], [[], [], false]);
	});

	test("a malformed, altered or another user's syncToken is refused with 422", async () => {
		const groupId = await group("Tokens");
		const [a, b] = await Promise.all([connect(alice), connect(bob)]);
		const aliceToken = ((await emitWithAck(a, "chat.sync", { cursors: { [groupId]: 0 } })) as unknown as SyncResult).syncToken;
		assert.equal(typeof aliceToken, "string");
		for (const since of ["garbage!", "", aliceToken.slice(0, -2), `${aliceToken.slice(0, 10)}A${aliceToken.slice(11)}`, 42]) {
			const ack = await emitWithAck(a, "chat.sync", { cursors: { [groupId]: 0 }, since });
			assert.equal(ack.error?.code, 422, `${JSON.stringify(since)}: ${JSON.stringify(ack)}`);
		}
		const foreign = await emitWithAck(b, "chat.sync", { cursors: { [groupId]: 0 }, since: aliceToken });
		assert.equal(foreign.error?.code, 422);
		assert.equal(foreign.error?.data?.[0]?.field, "since");
	});
});
