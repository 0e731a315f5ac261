import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Group } from "../../contract/groups.ts";
import type { Message } from "../../contract/messages.ts";
import { client, registerUser, startTestApp, useTestApp, type TestUser } from "../helpers/app.ts";
import { emitWithAck, waitFor } from "../helpers/socket.ts";

describe("mentions", () => {
	const t = useTestApp(["alice", "bob", "carol", "dave", "out"]);
	const { api: http, connect } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser, outsider: TestUser;
	before(() => void ([alice, bob, carol, dave, outsider] = t.users));
	/** alice owns it; bob, carol and dave are members. */
	const group = (name: string) => t.group(alice, name, [bob, carol, dave]);
	const send = (user: TestUser, groupId: string, content: string) => t.send(user, groupId, content);
	const edit = async (user: TestUser, id: string, content: string) => {
		const res = await http(user).request("PATCH", `/api/messages/${id}`, { content });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return res.body as Message;
	};
	const at = (user: TestUser) => `@${user.user.username}`;
	const sorted = (ids: string[]) => [...ids].sort();
	const mentionCount = async (user: TestUser, groupId: string) => {
		const res = await http(user).get(`/api/groups/${groupId}`);
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return (res.body as Group).mentionCount;
	};
	const listed = async (user: TestUser, groupId: string) => ((await http(user).get("/api/groups")).body.items as Group[]).find(g => g.id === groupId)!;

	test("@username resolves to members on send, over REST and the socket: case-insensitive, deduplicated, never the sender", async () => {
		const groupId = await group("Names");
		const plain = await send(alice, groupId, "nobody here");
		assert.deepEqual([plain.mentions, plain.mentionsAll], [[], false]);

		const text = `hi ${at(bob)} and ${at(bob).toUpperCase()}, ${at(carol)}! ${at(alice)} ${at(outsider)} @nosuchuser mail ${bob.user.username}@example.com`;
		const sent = await send(alice, groupId, text);
		assert.deepEqual(sorted(sent.mentions), sorted([bob.user.id, carol.user.id]));
		assert.equal(sent.mentionsAll, false);

		const socket = await connect(dave);
		const ack = await emitWithAck(socket, "chat.message.send", { groupId, content: `${at(alice)}: \`${at(bob)}\` is code` });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		assert.deepEqual(ack.message.mentions, [alice.user.id]);

		const [stored] = (await http(carol).get(`/api/messages/${groupId}?after=${sent.seq - 1}&limit=1`)).body.items as Message[];
		assert.deepEqual(sorted(stored.mentions), sorted(sent.mentions), "stored, as every reader sees it");
	});

	test("an edit resolves the new text: names taken out go, names put in come", async () => {
		const groupId = await group("Edits");
		const sent = await send(alice, groupId, `ping ${at(bob)}`);
		assert.deepEqual(sent.mentions, [bob.user.id]);
		const edited = await edit(alice, sent.id, `ping ${at(carol)} ${at(dave)} instead`);
		assert.deepEqual(sorted(edited.mentions), sorted([carol.user.id, dave.user.id]));
		assert.equal(await mentionCount(bob, groupId), 0, "bob is no longer mentioned");
		assert.equal(await mentionCount(carol, groupId), 1);
		const cleared = await edit(alice, sent.id, "never mind");
		assert.deepEqual([cleared.mentions, cleared.mentionsAll], [[], false]);
		assert.equal(await mentionCount(carol, groupId), 0);
	});

	test("@all and @here by default only for owners and admins; @here mentions the members online then", async () => {
		const groupId = await group("Everyone");
		const byMember = await send(bob, groupId, "@all @here listen");
		assert.deepEqual([byMember.mentions, byMember.mentionsAll], [[], false], "a plain member may not");

		const byOwner = await send(alice, groupId, "@all listen");
		assert.equal(byOwner.mentionsAll, true);
		assert.equal(await mentionCount(bob, groupId), 1);

		await connect(carol);
		await waitFor(async () => {
			const res = await http(alice).get(`/api/presence?userIds=${carol.user.id}`);
			return res.body.items?.[0]?.status === "online";
		}, "carol online");
		const here = await send(alice, groupId, "@here who is around?");
		assert.equal(here.mentionsAll, false);
		assert.ok(here.mentions.includes(carol.user.id), "carol is online");
		assert.ok(!here.mentions.includes(alice.user.id), "never the sender");

		const promoted = await http(alice).put(`/api/groups/${groupId}/members/${bob.user.id}`, { role: "admin" });
		assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
		assert.equal((await send(bob, groupId, "@all admins may")).mentionsAll, true);

		const direct = await http(alice).post("/api/groups", { type: "direct", memberIds: [bob.user.id] });
		assert.equal(direct.status, 201, JSON.stringify(direct.body));
		const dm = await send(alice, direct.body.id, `@all ${at(bob)}`);
		assert.deepEqual([dm.mentions, dm.mentionsAll], [[bob.user.id], false], "nobody needs @all in a direct conversation");
	});

	test("mentionCount: unread mentions of the caller, rising with mentions and falling with reading and deletes", async () => {
		const groupId = await group("Counts");
		assert.equal(await mentionCount(bob, groupId), 0);
		await send(alice, groupId, `${at(bob)} one`);
		await send(carol, groupId, "no mention");
		const third = await send(carol, groupId, `${at(bob)} ${at(dave)} three`);
		await send(alice, groupId, "@all four");
		await send(bob, groupId, `${at(bob)} my own`);
		assert.equal(await mentionCount(dave, groupId), 2, "dave: three and @all");
		assert.equal(await mentionCount(carol, groupId), 1, "carol: @all (her own mention of others does not count)");

		// bob's own message reads everything before it: nothing of it is unread.
		assert.equal(await mentionCount(bob, groupId), 0);
		await send(alice, groupId, `${at(bob)} five`);
		const sixth = await send(alice, groupId, `${at(bob)} six`);
		assert.equal(await mentionCount(bob, groupId), 2);
		assert.equal((await listed(bob, groupId)).mentionCount, 2, "the conversation list carries it too");

		const seen = await http(bob).post(`/api/messages/${groupId}/seen`, { seq: sixth.seq - 1 });
		assert.equal(seen.status, 200, JSON.stringify(seen.body));
		assert.equal(await mentionCount(bob, groupId), 1);
		assert.equal((await http(alice).del(`/api/messages/${sixth.id}`)).status, 200);
		assert.equal(await mentionCount(bob, groupId), 0, "a deleted mention is no mention");

		assert.equal(await mentionCount(dave, groupId), 2);
		await http(dave).post(`/api/messages/${groupId}/seen`, { seq: third.seq });
		assert.equal(await mentionCount(dave, groupId), 1);
	});
});

describe("mentions with MENTION_ALL=everyone and off", () => {
	test("everyone lets members use @all; off lets nobody", async () => {
		for (const [all, memberMay, ownerMay] of [
			["everyone", true, true],
			["off", false, false]
		] as const) {
			const app = await startTestApp({ mentions: { all } });
			try {
				const [alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
				const created = await client(app, alice.accessToken).post("/api/groups", { name: "All", memberIds: [bob.user.id] });
				const post = async (user: TestUser) =>
					(await client(app, user.accessToken).post("/api/messages", { groupId: created.body.id, content: "@all hi" })).body as Message;
				assert.equal((await post(bob)).mentionsAll, memberMay, `${all}: member`);
				assert.equal((await post(alice)).mentionsAll, ownerMay, `${all}: owner`);
			} finally {
				await app.stop();
			}
		}
	});
});
