import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Message, ReactionsEvent, SyncResult } from "../../contract/messages.ts";
import type { ChatConfig } from "../../lib/config.ts";
import { appActions, client, registerUser, startTestApp, useTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { collectTopics, firstSeen, kcatSkip, startMockKafka, waitFor as waitForKafka, type Collector, type MockKafka } from "../helpers/kafka.ts";
import { collect, emitWithAck, waitForEvent, type Ack } from "../helpers/socket.ts";

type Reactions = Pick<ReactionsEvent, "reactions"> & Partial<ReactionsEvent>;

const enc = encodeURIComponent;

/** A small world per app: users, a group of alice and bob, REST helpers. */
function world(app: () => TestApp) {
	const actions = appActions(app);
	const http = actions.api;
	return {
		...actions,
		put: (user: TestUser, messageId: string, emoji: string) => http(user).request("PUT", `/api/messages/${messageId}/reactions/${enc(emoji)}`),
		del: (user: TestUser, messageId: string, emoji: string) => http(user).request("DELETE", `/api/messages/${messageId}/reactions/${enc(emoji)}`),
		async messageAs(user: TestUser, groupId: string, seq: number): Promise<Message> {
			const res = await http(user).get(`/api/messages/${groupId}?after=${seq - 1}&limit=1`);
			assert.equal(res.status, 200, JSON.stringify(res.body));
			return res.body.items[0];
		}
	};
}

const counts = (r: Reactions) => r.reactions.map(x => [x.emoji, x.count]);

describe("message reactions", () => {
	const t = useTestApp(["alice", "bob", "carol"], () => startTestApp({ reactions: { perMessage: 3, perSecond: 1000, burst: 1000 } }));
	const { connect } = t;
	const w = world(() => t.app);
	let alice: TestUser, bob: TestUser, carol: TestUser;
	before(() => void ([alice, bob, carol] = t.users));

	test("members react over REST and the socket; each user once per emoji; every member socket hears each change once", async () => {
		const groupId = await w.group(alice, "Reactions", [bob]);
		const [alice1, alice2, bob1] = await Promise.all([connect(alice), connect(alice), connect(bob)]);
		const heard = [alice1, alice2, bob1].map(s => collect<ReactionsEvent>(s, "chat.message.reactions"));
		const message = await w.send(alice, groupId, "react to me");
		assert.deepEqual(message.reactions, []);

		const first = await w.put(bob, message.id, "👍");
		assert.equal(first.status, 200, JSON.stringify(first.body));
		assert.deepEqual(first.body.reactions, [{ emoji: "👍", count: 1, userIds: [bob.user.id] }]);
		assert.deepEqual(
			[first.body.groupId, first.body.messageId, first.body.actorId, first.body.emoji, first.body.on],
			[groupId, message.id, bob.user.id, "👍", true]
		);
		assert.ok(first.body.version > message.version, "a reaction is a change of the message");

		const again = await w.put(bob, message.id, "👍");
		assert.equal(again.status, 200, "putting twice is no error");
		assert.deepEqual(counts(again.body), [["👍", 1]]);
		assert.equal(again.body.version, first.body.version, "and changes nothing");

		const ack = await emitWithAck(alice1, "chat.message.react", { messageId: message.id, emoji: "👍🏽", on: true });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		assert.deepEqual(counts(ack as unknown as ReactionsEvent), [
			["👍", 1],
			["👍🏽", 1]
		]);
		const both = await emitWithAck(alice1, "chat.message.react", { messageId: message.id, emoji: "👍", on: true });
		assert.deepEqual((both as unknown as ReactionsEvent).reactions[0], { emoji: "👍", count: 2, userIds: [bob.user.id, alice.user.id] });
		const off = await w.del(bob, message.id, "👍");
		assert.equal(off.status, 200, JSON.stringify(off.body));
		assert.deepEqual(off.body.reactions[0], { emoji: "👍", count: 1, userIds: [alice.user.id] });
		assert.equal(off.body.on, false);
		const offAgain = await emitWithAck(bob1, "chat.message.react", { messageId: message.id, emoji: "👍", on: false });
		assert.equal(offAgain.ok, true, "taking back what is not there is no error either");
		assert.equal((offAgain as unknown as ReactionsEvent).version, off.body.version);

		// Events reach a socket in order: once the next message is there, every reaction event before it is too.
		const arrived = Promise.all([alice1, alice2, bob1].map(s => waitForEvent<Message>(s, "chat.message.incoming", m => m.content === "after the reactions")));
		await w.send(bob, groupId, "after the reactions");
		await arrived;
		for (const events of heard) {
			assert.deepEqual(
				events.map(e => [e.actorId, e.emoji, e.on, e.version]),
				[
					[bob.user.id, "👍", true, first.body.version],
					[alice.user.id, "👍🏽", true, first.body.version + 1],
					[alice.user.id, "👍", true, first.body.version + 2],
					[bob.user.id, "👍", false, off.body.version]
				],
				"real changes only, each once"
			);
			assert.deepEqual(events.at(-1), off.body);
		}

		// `me` is the viewer's own.
		const asAlice = await w.messageAs(alice, groupId, message.seq);
		const asBob = await w.messageAs(bob, groupId, message.seq);
		assert.deepEqual(
			asAlice.reactions.map(r => [r.emoji, r.count, r.me]),
			[
				["👍", 1, true],
				["👍🏽", 1, true]
			]
		);
		assert.deepEqual(
			asBob.reactions.map(r => [r.emoji, r.me]),
			[
				["👍", false],
				["👍🏽", false]
			]
		);
		assert.equal(asAlice.version, off.body.version);
	});

	test("a crash between a toggle's two writes (the reaction stored, the summary not) is mended by the next toggle of it", async () => {
		const g = (await w.api(alice).post("/api/groups", { name: "Torn", memberIds: [bob.user.id] })).body;
		const m = (await w.api(alice).post("/api/messages", { groupId: g.id, content: "react" })).body as Message;
		const { db } = t.app.broker.getLocalService("messages") as unknown as {
			db: { reactions: { insert(doc: object): Promise<unknown>; removeById(id: string): Promise<unknown> } };
		};
		// The state such a crash leaves on disk: bob's 👍 is there, the message's summary does not show it.
		await db.reactions.insert({ _id: `${m.id}:${bob.user.id}:👍`, messageId: m.id, groupId: g.id, userId: bob.user.id, emoji: "👍", createdAt: new Date() });
		assert.deepEqual((await w.messageAs(bob, g.id, m.seq)).reactions, []);
		const put = await w.put(bob, m.id, "👍");
		assert.equal(put.status, 200, JSON.stringify(put.body));
		assert.deepEqual(counts(put.body), [["👍", 1]]);
		assert.deepEqual(counts(await w.messageAs(alice, g.id, m.seq)), [["👍", 1]]);
		// And the other way: the reaction gone, the summary still showing it.
		await db.reactions.removeById(`${m.id}:${bob.user.id}:👍`);
		const del = await w.del(bob, m.id, "👍");
		assert.equal(del.status, 200, JSON.stringify(del.body));
		assert.deepEqual(del.body.reactions, []);
		assert.deepEqual((await w.messageAs(alice, g.id, m.seq)).reactions, []);
	});

	test("refusals: non-members and unknown messages 404, bad emoji 422, a deleted message 409, beyond the cap 422", async () => {
		const groupId = await w.group(alice, "Refusals", [bob]);
		const message = await w.send(alice, groupId, "hello");
		const code = (a: Ack) => a.error?.code;

		assert.equal((await w.put(carol, message.id, "👍")).status, 404);
		assert.equal(code(await emitWithAck(await connect(carol), "chat.message.react", { messageId: message.id, emoji: "👍", on: true })), 404);
		assert.equal((await w.put(alice, "aaaaaaaaaaaaaaaaaaaaaaaa", "👍")).status, 404);
		assert.equal((await w.put(alice, "nope", "👍")).status, 422);

		const socket = await connect(bob);
		for (const emoji of ["a", "thumbsup", ":+1:", "👍👍", "👍 x", "😀".repeat(40), "x".repeat(300)]) {
			const res = await w.put(bob, message.id, emoji);
			assert.equal(res.status, 422, `${emoji.slice(0, 10)}: ${JSON.stringify(res.body)}`);
			assert.equal(res.body.data[0].field, "emoji");
		}
		assert.equal(
			(await client(t.app, bob.accessToken).request("PUT", `/api/messages/${message.id}/reactions/%F0%9F`)).status,
			400,
			"half an emoji is a bad URL"
		);
		for (const payload of [
			{ messageId: message.id, emoji: "two words", on: true },
			{ messageId: message.id, emoji: 42, on: true },
			{ messageId: message.id, emoji: "👍" },
			{ messageId: message.id, emoji: "👍", on: "yes" },
			{ emoji: "👍", on: true }
		]) {
			assert.equal(code(await emitWithAck(socket, "chat.message.react", payload)), 422, JSON.stringify(payload));
		}
		assert.deepEqual((await w.messageAs(alice, groupId, message.seq)).reactions, [], "refusals stored nothing");

		// The cap (3 in this app) counts distinct emoji; more users on one that is there are fine.
		for (const emoji of ["😀", "🎉", "❤️"]) assert.equal((await w.put(alice, message.id, emoji)).status, 200);
		const capped = await w.put(bob, message.id, "🚀");
		assert.equal(capped.status, 422);
		assert.equal(capped.body.type, "REACTION_LIMIT_REACHED");
		assert.deepEqual(capped.body.data, { limit: 3 });
		assert.equal((await w.put(bob, message.id, "❤")).status, 200, "❤ without its selector is ❤️, already there");
		assert.deepEqual(counts((await w.put(bob, message.id, "🎉")).body), [
			["😀", 1],
			["🎉", 2],
			["❤️", 2]
		]);

		assert.equal((await client(t.app, alice.accessToken).del(`/api/messages/${message.id}`)).status, 200);
		const deleted = await w.put(bob, message.id, "😀");
		assert.equal(deleted.status, 409);
		assert.equal(deleted.body.type, "MESSAGE_DELETED");
		assert.equal((await w.del(bob, message.id, "🎉")).status, 409);
		const tombstone = await w.messageAs(bob, groupId, message.seq);
		assert.deepEqual(tombstone.reactions, []);
		const messages = t.app.broker.getLocalService("messages") as unknown as { db: { reactions: { count(q: object): Promise<number> } } };
		assert.equal(await messages.db.reactions.count({ messageId: message.id }), 0, "a delete drops the reactions");
	});

	test("many at once: concurrent toggles never count a user twice; the summary names the first ten, `me` holds beyond them", async () => {
		const others = await Promise.all(Array.from({ length: 11 }, (_, i) => registerUser(t.app, `fan${i}`)));
		const groupId = await w.group(alice, "Crowd", [bob, ...others]);
		const message = await w.send(alice, groupId, "popular");
		const results = await Promise.all(Array.from({ length: 8 }, () => w.put(bob, message.id, "🔥")));
		assert.ok(results.every(r => r.status === 200));
		assert.deepEqual(counts((await w.put(bob, message.id, "🔥")).body), [["🔥", 1]]);

		await Promise.all(others.map(u => w.put(u, message.id, "🔥")));
		const [entry] = (await w.messageAs(alice, groupId, message.seq)).reactions;
		assert.equal(entry.count, 12);
		assert.equal(entry.userIds.length, 10);
		assert.equal(entry.userIds[0], bob.user.id, "oldest first");
		assert.equal(entry.me, false);
		const notNamed = others.find(u => !entry.userIds.includes(u.user.id))!;
		assert.equal((await w.messageAs(notNamed, groupId, message.seq)).reactions[0].me, true, "beyond the first ten, `me` still knows");
		assert.equal((await w.messageAs(bob, groupId, message.seq)).reactions[0].me, true);
	});

	test("a client that kept its syncToken gets the messages reacted to while it was away, with their reactions", async () => {
		const groupId = await w.group(alice, "Offline", [bob]);
		const sent: Message[] = [];
		for (let i = 1; i <= 5; i++) sent.push(await w.send(alice, groupId, `m${i}`));
		const socket = await connect(alice);
		const first = (await emitWithAck(socket, "chat.sync", { cursors: { [groupId]: 0 } })) as unknown as SyncResult;
		socket.close();

		assert.equal((await w.put(bob, sent[1].id, "👀")).status, 200);
		assert.equal((await w.put(alice, sent[3].id, "✅")).status, 200);
		assert.equal((await w.put(bob, sent[3].id, "✅")).status, 200);
		assert.equal((await w.put(bob, sent[4].id, "❓")).status, 200);
		assert.equal((await w.del(bob, sent[4].id, "❓")).status, 200);

		const back = (await emitWithAck(await connect(alice), "chat.sync", { cursors: { [groupId]: 5 }, since: first.syncToken })) as unknown as SyncResult;
		const [item] = back.items;
		assert.deepEqual(item.messages, []);
		assert.deepEqual(
			item.changed!.map(m => [m.seq, m.reactions.map(r => [r.emoji, r.count, r.me])]),
			[
				[2, [["👀", 1, false]]],
				[4, [["✅", 2, true]]],
				[5, []]
			]
		);
		const again = (await emitWithAck(await connect(alice), "chat.sync", { cursors: { [groupId]: 5 }, since: back.syncToken })) as unknown as SyncResult;
		assert.deepEqual(again.items[0].changed, []);
	});
});

describe("reaction rate limit", () => {
	const t = useTestApp(["alice", "bob"], () => startTestApp({ reactions: { perMessage: 20, perSecond: 1, burst: 3 } }));

	test("toggles take from their own bucket: past the burst 429 with retryAfterMs, and sending is not affected", async () => {
		const w = world(() => t.app);
		const [alice, bob] = t.users;
		const groupId = await w.group(alice, "Limits", [bob]);
		const message = await w.send(alice, groupId, "hi");
		const statuses = [];
		for (const emoji of ["😀", "😁", "😂", "🤣"]) statuses.push((await w.put(bob, message.id, emoji)).status);
		assert.deepEqual(statuses, [200, 200, 200, 429]);
		const limited = await w.put(bob, message.id, "😃");
		assert.equal(limited.body.type, "RATE_LIMITED");
		assert.ok(limited.body.data.retryAfterMs > 0);
		await w.send(bob, groupId, "sending still works");
	});
});

describe("reactions on Kafka", { skip: kcatSkip(), timeout: 120_000 }, () => {
	let kafka: MockKafka;
	let app: TestApp;
	let collector: Collector;

	before(async () => {
		kafka = await startMockKafka();
		const streamed: Partial<ChatConfig> = {
			kafka: { brokers: kafka.brokers, topicPrefix: "chat.", clientId: `test-${process.pid}`, inboundBots: [], pollIntervalMs: 200, idempotent: false }
		};
		app = await startTestApp(streamed);
		collector = await collectTopics(kafka.brokers, ["chat.messages"]);
	});
	after(async () => {
		await collector?.stop();
		await app?.stop();
		await kafka?.stop();
	});

	test("message.reactions goes to the messages topic keyed by the conversation, in version order with its other changes", async () => {
		const w = world(() => app);
		const [alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
		const groupId = await w.group(alice, "Stream", [bob]);
		const message = await w.send(alice, groupId, "first");
		assert.equal((await w.put(bob, message.id, "👍")).status, 200);
		assert.equal((await w.put(bob, message.id, "👍")).status, 200, "a no-op streams nothing");
		assert.equal((await w.put(alice, message.id, "🎉")).status, 200);
		const patched = await client(app, alice.accessToken).request("PATCH", `/api/messages/${message.id}`, { content: "first, edited" });
		assert.equal(patched.status, 200);
		assert.equal((await w.del(bob, message.id, "👍")).status, 200);

		const events = await waitForKafka("the conversation's events", () => {
			const mine = firstSeen(collector.records).filter(r => r.event.groupId === groupId);
			return mine.length >= 5 ? mine : null;
		});
		for (const r of events) assert.equal(r.key, groupId);
		const summary = events.map(r => {
			const p = r.event.payload as { message?: { version: number; reactions: unknown[] }; version?: number; emoji?: string; on?: boolean; actorId?: string };
			return [r.event.type, p.message?.version ?? p.version, p.emoji ?? null, p.on ?? null];
		});
		assert.deepEqual(summary, [
			["message.created", 1, null, null],
			["message.reactions", 2, "👍", true],
			["message.reactions", 3, "🎉", true],
			["message.updated", 4, null, null],
			["message.reactions", 5, "👍", false]
		]);
		const last = events[4].event.payload as { messageId: string; seq: number; reactions: unknown[]; actorId: string };
		assert.deepEqual([last.messageId, last.seq, last.actorId], [message.id, 1, bob.user.id]);
		assert.deepEqual(last.reactions, [{ emoji: "🎉", count: 1, userIds: [alice.user.id] }]);
		assert.deepEqual(
			(events[3].event.payload as { message: { reactions: unknown[] } }).message.reactions.length,
			2,
			"an edit carries the reactions as they are"
		);
	});
});
