import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { SearchResult } from "../../contract/search.ts";
import { client, registerUser, startTestApp, useTestApp, withDataFiles, type TestUser } from "../helpers/app.ts";
import { closeAll, connectSocket, emitWithAck, type Ack } from "../helpers/socket.ts";

const marked = (result: SearchResult) => result.items.map(i => i.highlights.flatMap(h => h.ranges.map(([s, e]) => h.text.slice(s, e))));

describe("search over REST", () => {
	const t = useTestApp(["alice", "bob", "carol"]);
	const { api } = t;
	let alice: TestUser, bob: TestUser, carol: TestUser;
	before(() => void ([alice, bob, carol] = t.users));

	const group = (name: string, members: TestUser[] = [bob]) => t.group(alice, name, members);
	const send = (user: TestUser, groupId: string, content: string) => t.send(user, groupId, content);
	const search = async (user: TestUser, query: Record<string, string | number>, status = 200) => {
		const res = await api(user).get(`/api/search?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`);
		assert.equal(res.status, status, JSON.stringify(res.body));
		return res.body as SearchResult;
	};
	const found = async (user: TestUser, query: Record<string, string | number>) => (await search(user, query)).items.map(i => i.message.content);

	test("members find their messages, highlighted, with the message and its conversation; others find nothing", async () => {
		const groupId = await group("Launch");
		const sent = await send(alice, groupId, "The Zanzibar launch is on Friday");
		await send(bob, groupId, "unrelated chatter");
		const result = await search(bob, { q: "zanzibar" });
		assert.equal(result.items.length, 1);
		assert.equal(result.next, null);
		const [hit] = result.items;
		assert.equal(hit.groupId, groupId);
		assert.equal(hit.message.id, sent.id);
		assert.equal(hit.message.seq, sent.seq);
		assert.equal(hit.message.senderId, alice.user.id);
		assert.deepEqual(hit.highlights, [{ text: "The Zanzibar launch is on Friday", ranges: [[4, 12]] }]);
		assert.deepEqual(await found(carol, { q: "zanzibar" }), [], "a non-member finds nothing");
		await search(carol, { q: "zanzibar", groupId }, 404);
	});

	test("a result shows the searcher's own reactions as theirs", async () => {
		const groupId = await group("Reacted");
		const sent = await send(alice, groupId, "axolotl sighting at noon");
		assert.equal((await api(bob).put(`/api/messages/${sent.id}/reactions/${encodeURIComponent("👍")}`, {})).status, 200);
		const mine = (user: TestUser) => search(user, { q: "axolotl" }).then(r => r.items[0].message.reactions.map(x => [x.emoji, x.count, x.me]));
		assert.deepEqual(await mine(bob), [["👍", 1, true]]);
		assert.deepEqual(await mine(alice), [["👍", 1, false]]);
	});

	test("every word must match; longer words by prefix (embedded); case and accents do not matter", async () => {
		const groupId = await group("Words");
		await send(alice, groupId, "Qwertyapple deployment went fine");
		await send(alice, groupId, "qwertyapple is tasty");
		// MongoDB's text index matches whole words only; the embedded index also matches by prefix.
		const deploy = process.env.MONGODB_URI ? "deployment" : "deploy";
		assert.deepEqual(await found(bob, { q: `QWERTYAPPLE ${deploy}`, groupId }), ["Qwertyapple deployment went fine"]);
		assert.deepEqual(marked(await search(bob, { q: `qwertyapple ${deploy}`, groupId })), [["Qwertyapple", "deployment"]]);
		await send(alice, groupId, "Rendez-vous au qwertycafé");
		assert.deepEqual(await found(bob, { q: "qwertycafe" }), ["Rendez-vous au qwertycafé"]);
	});

	test("a member who leaves stops finding the conversation at once; one who joins finds its history", async () => {
		const groupId = await group("Leaving", [bob, carol]);
		await send(alice, groupId, "xylophone practice tonight");
		assert.deepEqual(await found(carol, { q: "xylophone" }), ["xylophone practice tonight"]);
		const left = await api(carol).del(`/api/groups/${groupId}/members/${carol.user.id}`);
		assert.ok(left.status < 300, JSON.stringify(left.body));
		assert.deepEqual(await found(carol, { q: "xylophone" }), []);
		await search(carol, { q: "xylophone", groupId }, 404);
		const joined = await api(alice).post(`/api/groups/${groupId}/members`, { userIds: [carol.user.id] });
		assert.ok(joined.status < 300, JSON.stringify(joined.body));
		assert.deepEqual(await found(carol, { q: "xylophone" }), ["xylophone practice tonight"]);
	});

	test("deleted messages are not found; an edit replaces the text that is found", async () => {
		const groupId = await group("Changes");
		const doomed = await send(alice, groupId, "quokka sighting reported");
		const edited = await send(alice, groupId, "the marmoset escaped");
		assert.deepEqual(await found(bob, { q: "quokka" }), ["quokka sighting reported"]);
		assert.equal((await api(alice).del(`/api/messages/${doomed.id}`)).status, 200);
		assert.deepEqual(await found(bob, { q: "quokka" }), []);
		const patch = await api(alice).request("PATCH", `/api/messages/${edited.id}`, { content: "the capybara escaped" });
		assert.equal(patch.status, 200, JSON.stringify(patch.body));
		assert.deepEqual(await found(bob, { q: "marmoset" }), [], "the replaced text is not findable");
		const [hit] = (await search(bob, { q: "capybara" })).items;
		assert.equal(hit.message.id, edited.id);
		assert.ok(hit.message.editedAt);
	});

	test("system lines are not indexed", async () => {
		const groupId = await group("Renamed Wombatgroup");
		const renamed = await api(alice).put(`/api/groups/${groupId}`, { name: "Wombatgroup Two" });
		assert.ok(renamed.status < 300, JSON.stringify(renamed.body));
		assert.deepEqual(await found(alice, { q: "wombatgroup" }), []);
	});

	test("filters by conversation and by sender", async () => {
		const first = await group("Filter one");
		const second = await group("Filter two");
		await send(alice, first, "pangolin from alice in one");
		await send(bob, first, "pangolin from bob in one");
		await send(alice, second, "pangolin from alice in two");
		assert.equal((await found(bob, { q: "pangolin" })).length, 3);
		assert.deepEqual((await found(bob, { q: "pangolin", groupId: first })).sort(), ["pangolin from alice in one", "pangolin from bob in one"]);
		assert.deepEqual(await found(bob, { q: "pangolin", senderId: bob.user.id }), ["pangolin from bob in one"]);
		assert.deepEqual(await found(bob, { q: "pangolin", groupId: second, senderId: alice.user.id }), ["pangolin from alice in two"]);
		assert.deepEqual(await found(bob, { q: "pangolin", groupId: second, senderId: bob.user.id }), []);
	});

	test("ranked: the closer match first; pages follow each other without overlap", async () => {
		const groupId = await group("Ranking");
		await send(alice, groupId, "narwhal narwhal narwhal");
		for (let i = 0; i < 6; i++) await send(alice, groupId, `a long note number ${i} that mentions the narwhal once among many other words`);
		const first = await search(bob, { q: "narwhal", limit: 4 });
		assert.equal(first.items.length, 4);
		assert.equal(first.items[0].message.content, "narwhal narwhal narwhal");
		assert.ok(first.next);
		const second = await search(bob, { q: "narwhal", limit: 4, cursor: first.next! });
		assert.equal(second.items.length, 3);
		assert.equal(second.next, null);
		const all = [...first.items, ...second.items].map(i => i.message.id);
		assert.equal(new Set(all).size, 7);
		await search(bob, { q: "other words", cursor: first.next! }, 422);
	});

	test("the socket's search.query acks the same results, and the same refusals", async () => {
		const groupId = await group("Socket search");
		await send(alice, groupId, "the wallaby crossed the road");
		const socket = await connectSocket(t.socketUrl, bob.accessToken);
		try {
			const ack = await emitWithAck<Ack & SearchResult>(socket, "search.query", { q: "wallaby", groupId });
			assert.equal(ack.ok, true, JSON.stringify(ack));
			assert.deepEqual(
				ack.items.map(i => i.message.content),
				["the wallaby crossed the road"]
			);
			assert.equal(ack.next, null);
			const refused = await emitWithAck(socket, "search.query", { q: "  " });
			assert.equal(refused.ok, false);
			assert.equal(refused.error?.code, 422);
		} finally {
			closeAll(socket);
		}
	});

	test("validation: empty, wordless or overlong q, limit bounds, bad ids and cursors are 422; no session is 401", async () => {
		for (const q of ["", "   ", "!!!", "x".repeat(257)]) await search(bob, { q }, 422);
		await search(bob, { q: "x", limit: 0 }, 422);
		await search(bob, { q: "x", limit: 51 }, 422);
		await search(bob, { q: "x", groupId: "nope" }, 422);
		await search(bob, { q: "x", cursor: "nope" }, 422);
		assert.equal((await client(t.app).get("/api/search?q=x")).status, 401);
	});
});

describe("search limits and restarts", () => {
	test("searches take from their own token bucket: 429 with retryAfterMs past the burst", async () => {
		const app = await startTestApp({ search: { perSecond: 1, burst: 3 } });
		try {
			const user = await registerUser(app, "limited");
			const statuses: number[] = [];
			for (let i = 0; i < 5; i++) statuses.push((await client(app, user.accessToken).get("/api/search?q=hello")).status);
			assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
			const refused = await client(app, user.accessToken).get("/api/search?q=hello");
			assert.equal(refused.status, 429);
			assert.ok(refused.body.data.retryAfterMs > 0);
			assert.equal((await client(app, user.accessToken).get("/api/groups")).status, 200, "other requests are not affected");
		} finally {
			await app.stop();
		}
	});

	test("the embedded index is rebuilt from the store at start", { skip: !!process.env.MONGODB_URI && "uses NeDB files" }, async () => {
		await withDataFiles(async start => {
			let app = await start();
			const [alice, bob] = await Promise.all([registerUser(app, "rebuild"), registerUser(app, "rebuild")]);
			const created = await client(app, alice.accessToken).post("/api/groups", { name: "Durable", memberIds: [bob.user.id] });
			assert.equal(created.status, 201, JSON.stringify(created.body));
			const groupId = created.body.id;
			const post = (content: string) => client(app, alice.accessToken).post("/api/messages", { groupId, content });
			const kept = (await post("okapi kept after restart")).body;
			const gone = (await post("okapi deleted before restart")).body;
			const changed = (await post("okapi before the edit")).body;
			await client(app, alice.accessToken).del(`/api/messages/${gone.id}`);
			await client(app, alice.accessToken).request("PATCH", `/api/messages/${changed.id}`, { content: "okapi after the edit" });
			await app.stop();

			app = await start();
			try {
				const res = await client(app, alice.accessToken).get("/api/search?q=okapi");
				assert.equal(res.status, 200, JSON.stringify(res.body));
				const items = (res.body as SearchResult).items;
				assert.deepEqual(items.map(i => i.message.content).sort(), ["okapi after the edit", "okapi kept after restart"]);
				assert.ok(items.some(i => i.message.id === kept.id));
				const after = (await client(app, alice.accessToken).post("/api/messages", { groupId, content: "okapi after restart" })).body;
				const again = (await client(app, alice.accessToken).get("/api/search?q=okapi restart")).body as SearchResult;
				assert.deepEqual(again.items.map(i => i.message.id).sort(), [kept.id, after.id].sort());
			} finally {
				await app.stop();
			}
		});
	});
});
