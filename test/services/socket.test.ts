import assert from "node:assert/strict";
import jwt from "jsonwebtoken";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { asOperator } from "../helpers/operator.ts";
import { closeAll, collect, connectSocket, emitWithAck, socketUrl, waitFor, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

const TIMEOUT = { timeout: 60_000 };

describe("socket gateway", () => {
	let app: TestApp;
	let url: string;
	let alice: TestUser, bob: TestUser, carol: TestUser, dave: TestUser;
	let dmId: string; // alice + bob
	let teamId: string; // alice + bob + carol
	let daveDmId: string; // alice + dave
	const open: ClientSocket[] = [];

	async function connect(user: TestUser): Promise<ClientSocket> {
		const socket = await connectSocket(url, user.accessToken);
		open.push(socket);
		return socket;
	}

	before(async () => {
		app = await startTestApp({ presence: { heartbeatSeconds: 1, graceSeconds: 1 } });
		url = socketUrl(app.broker);
		[alice, bob, carol, dave] = await Promise.all(["alice", "bob", "carol", "dave"].map(n => registerUser(app, n)));
		const a = client(app, alice.accessToken);
		dmId = (await a.post("/api/groups", { type: "direct", memberIds: [bob.user.id] })).body.id;
		teamId = (await a.post("/api/groups", { name: "Team", memberIds: [bob.user.id, carol.user.id] })).body.id;
		daveDmId = (await a.post("/api/groups", { type: "direct", memberIds: [dave.user.id] })).body.id;
	});
	after(async () => {
		closeAll(...open);
		await app.stop();
	});

	test("the gateway shares the API's port", () => {
		assert.equal(url, app.url);
	});

	test("a missing, bad or expired token is refused with a reason", TIMEOUT, async () => {
		await assert.rejects(
			connectSocket(url, undefined),
			(err: Error & { data?: { type: string } }) => err.message === "unauthorized" && err.data?.type === "UNAUTHORIZED"
		);
		await assert.rejects(
			connectSocket(url, "not-a-token"),
			(err: Error & { data?: { type: string } }) => err.message === "unauthorized" && err.data?.type === "INVALID_TOKEN"
		);
		const expired = jwt.sign({ typ: "access", username: alice.user.username }, app.config.jwt.secret, {
			algorithm: "HS256",
			subject: alice.user.id,
			expiresIn: -10
		});
		await assert.rejects(
			connectSocket(url, expired),
			(err: Error & { data?: { type: string } }) => err.message === "token_expired" && err.data?.type === "TOKEN_EXPIRED"
		);
		await assert.rejects(connectSocket(url, alice.accessToken, { transports: ["polling"] }));
	});

	test("two users in a DM: the ack carries the stored message and the other side receives it", TIMEOUT, async () => {
		const [a, b] = await Promise.all([connect(alice), connect(bob)]);
		const incoming = waitForEvent(b, "chat.message.incoming", m => m.clientMessageId === "dm-1");
		const own = waitForEvent(a, "chat.message.incoming", m => m.clientMessageId === "dm-1");
		const ack = await emitWithAck(a, "chat.message.send", { groupId: dmId, content: "hello bob", clientMessageId: "dm-1" });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		assert.equal(ack.message.content, "hello bob");
		assert.equal(ack.message.senderId, alice.user.id);
		const history = await client(app, bob.accessToken).get(`/api/messages/${dmId}`);
		assert.ok(
			history.body.items.some((m: { id: string }) => m.id === ack.message.id),
			"stored before the ack"
		);
		assert.equal((await incoming).id, ack.message.id);
		assert.equal((await own).id, ack.message.id);
		closeAll(a, b);
	});

	test("a group of three receives each message exactly once; a non-member receives nothing", TIMEOUT, async () => {
		const [a, b, c, d] = await Promise.all([connect(alice), connect(bob), connect(carol), connect(dave)]);
		const received = [a, b, c].map(s => collect(s, "chat.message.incoming"));
		const daveGot = collect(d, "chat.message.incoming");
		const ack = await emitWithAck(b, "chat.message.send", { groupId: teamId, content: "team hello", clientMessageId: "team-1" });
		assert.equal(ack.ok, true, JSON.stringify(ack));
		// A later message to dave, on the same node, arrives after the team message would have.
		const marker = await emitWithAck(a, "chat.message.send", { groupId: daveDmId, content: "marker", clientMessageId: "marker-1" });
		await waitFor(() => daveGot.some(m => m.id === marker.message.id), "dave's marker");
		await waitFor(() => received.every(list => list.some(m => m.id === ack.message.id)), "team members' copies");
		for (const list of received) assert.equal(list.filter(m => m.id === ack.message.id).length, 1);
		assert.deepEqual(
			daveGot.map(m => m.groupId),
			[daveDmId]
		);
		closeAll(a, b, c, d);
	});

	test("the same user in two tabs gets every event in both", TIMEOUT, async () => {
		const [a, b1, b2] = await Promise.all([connect(alice), connect(bob), connect(bob)]);
		const tab1 = collect(b1, "chat.message.incoming");
		const tab2 = collect(b2, "chat.message.incoming");
		const sent = [];
		for (let i = 0; i < 3; i++)
			sent.push((await emitWithAck(a, "chat.message.send", { groupId: dmId, content: `tabs ${i}`, clientMessageId: `tabs-${i}` })).message.id);
		await waitFor(() => tab1.length >= 3 && tab2.length >= 3, "both tabs");
		assert.deepEqual(
			tab1.map(m => m.id),
			sent
		);
		assert.deepEqual(
			tab2.map(m => m.id),
			sent
		);
		// What one tab sends reaches the other tab too.
		const echo = waitForEvent(b2, "chat.message.incoming", m => m.clientMessageId === "from-tab-1");
		await emitWithAck(b1, "chat.message.send", { groupId: dmId, content: "from tab 1", clientMessageId: "from-tab-1" });
		await echo;
		closeAll(a, b1, b2);
	});

	test("a retried send with the same clientMessageId stores and delivers one message", TIMEOUT, async () => {
		const [a, b] = await Promise.all([connect(alice), connect(bob)]);
		const got = collect(b, "chat.message.incoming");
		const payload = { groupId: dmId, content: "only once", clientMessageId: "retry-socket-1" };
		const [first, second] = await Promise.all([emitWithAck(a, "chat.message.send", payload), emitWithAck(a, "chat.message.send", payload)]);
		const third = await emitWithAck(a, "chat.message.send", payload);
		assert.equal(first.message.id, second.message.id);
		assert.equal(first.message.id, third.message.id);
		const marker = await emitWithAck(a, "chat.message.send", { groupId: dmId, content: "after retry", clientMessageId: "retry-marker" });
		await waitFor(() => got.some(m => m.id === marker.message.id), "marker");
		assert.equal(got.filter(m => m.clientMessageId === "retry-socket-1").length, 1);
		const history = await client(app, alice.accessToken).get(`/api/messages/${dmId}?limit=100`);
		assert.equal(history.body.items.filter((m: { clientMessageId: string }) => m.clientMessageId === "retry-socket-1").length, 1);
		closeAll(a, b);
	});

	test("reconnect gap-fill: chat.sync returns exactly the 50 missed messages in order", TIMEOUT, async () => {
		const b = await connect(bob);
		const before = await emitWithAck(b, "chat.sync", { cursors: { [teamId]: 0 } });
		assert.equal(before.ok, true, JSON.stringify(before));
		const cursor = before.items[0].lastSeq as number;
		b.close();
		const a = client(app, alice.accessToken);
		for (let i = 0; i < 50; i++) {
			const res = await a.post("/api/messages", { groupId: teamId, content: `missed ${i}`, clientMessageId: `gap-${i}` });
			assert.equal(res.status, 201);
		}
		const again = await connect(bob);
		const live = collect(again, "chat.message.incoming");
		const sync = await emitWithAck(again, "chat.sync", { cursors: { [teamId]: cursor } });
		assert.equal(sync.ok, true, JSON.stringify(sync));
		const item = sync.items.find((i: { groupId: string }) => i.groupId === teamId);
		assert.equal(item.hasMore, false);
		assert.deepEqual(
			item.messages.map((m: { seq: number }) => m.seq),
			Array.from({ length: 50 }, (_, i) => cursor + 1 + i)
		);
		assert.deepEqual(
			item.messages.map((m: { content: string }) => m.content),
			Array.from({ length: 50 }, (_, i) => `missed ${i}`)
		);
		assert.equal(live.length, 0, "nothing of the gap arrives live");
		closeAll(again);
	});

	test("receipts: the sender sees delivered then seen, and history shows the status", TIMEOUT, async () => {
		const [a, b] = await Promise.all([connect(alice), connect(bob)]);
		const incoming = waitForEvent(b, "chat.message.incoming", m => m.clientMessageId === "receipt-1");
		const sent = await emitWithAck(a, "chat.message.send", { groupId: dmId, content: "tick tick", clientMessageId: "receipt-1" });
		const { seq, id } = sent.message;
		assert.equal(sent.message.status, "sent");
		await incoming;
		const history = async () => (await client(app, alice.accessToken).get(`/api/messages/${dmId}?after=${seq - 1}&limit=1`)).body.items[0];

		const deliveredEvent = waitForEvent(a, "chat.message.delivered", e => e.userId === bob.user.id && e.seq === seq);
		const delivered = await emitWithAck(b, "chat.message.delivered", { groupId: dmId, seq });
		assert.equal(delivered.ok, true, JSON.stringify(delivered));
		assert.equal(delivered.seq, seq);
		assert.deepEqual(await deliveredEvent, { groupId: dmId, userId: bob.user.id, seq });
		assert.equal((await history()).status, "delivered");

		const seenEvent = waitForEvent(a, "chat.message.seen", e => e.userId === bob.user.id && e.seq === seq);
		const seen = await emitWithAck(b, "chat.message.seen", { groupId: dmId, messageId: id });
		assert.equal(seen.ok, true, JSON.stringify(seen));
		assert.equal(seen.seq, seq);
		await seenEvent;
		assert.equal((await history()).status, "seen");
		closeAll(a, b);
	});

	test("typing: start, stop, throttle, expiry, cleared on send; members only", TIMEOUT, async () => {
		const [a, b, d] = await Promise.all([connect(alice), connect(bob), connect(dave)]);
		const signals = collect(a, "typing");
		const fromBob = (typing: boolean) => (e: { userId: string; typing: boolean; groupId: string }) =>
			e.userId === bob.user.id && e.typing === typing && e.groupId === teamId;

		let next = waitForEvent(a, "typing", fromBob(true));
		assert.equal((await emitWithAck(b, "typing.start", { groupId: teamId })).ok, true);
		await next;
		// Inside the throttle window a second start only extends.
		assert.equal((await emitWithAck(b, "typing.start", { groupId: teamId })).ok, true);
		next = waitForEvent(a, "typing", fromBob(false));
		assert.equal((await emitWithAck(b, "typing.stop", { groupId: teamId })).ok, true);
		await next;
		assert.equal(signals.filter(fromBob(true)).length, 1, "throttled to one announcement");

		// Without a refresh it expires on the server.
		const startedAt = Date.now();
		next = waitForEvent(a, "typing", fromBob(true));
		b.emit("typing.start", { groupId: teamId }); // fire-and-forget is allowed for typing
		await next;
		await waitForEvent(a, "typing", fromBob(false), 15_000);
		assert.ok(Date.now() - startedAt >= 5000, "expires after about 6 s");

		// Sending clears it.
		next = waitForEvent(a, "typing", fromBob(true));
		await emitWithAck(b, "typing.start", { groupId: teamId });
		await next;
		next = waitForEvent(a, "typing", fromBob(false));
		await emitWithAck(b, "chat.message.send", { groupId: teamId, content: "done typing", clientMessageId: "typing-send" });
		await next;

		const outsider = await emitWithAck(d, "typing.start", { groupId: teamId });
		assert.equal(outsider.ok, false);
		assert.equal(outsider.error!.code, 404);
		assert.equal(signals.filter(e => e.userId === dave.user.id).length, 0);
		closeAll(a, b, d);
	});

	test("a member removed while typing stops typing for the others at once, not when the signal would expire", TIMEOUT, async () => {
		const group = await client(app, alice.accessToken).post("/api/groups", { name: "Typing leaves", memberIds: [bob.user.id, carol.user.id] });
		assert.equal(group.status, 201);
		const groupId = group.body.id;
		const [a, b] = await Promise.all([connect(alice), connect(bob)]);
		const bobTyping = (typing: boolean) => (e: { userId: string; typing: boolean; groupId: string }) =>
			e.userId === bob.user.id && e.typing === typing && e.groupId === groupId;
		const started = waitForEvent(a, "typing", bobTyping(true));
		assert.equal((await emitWithAck(b, "typing.start", { groupId })).ok, true);
		await started;
		// Well inside the 6 s after which the start would expire by itself.
		const stopped = waitForEvent(a, "typing", bobTyping(false), 3_000);
		assert.equal((await client(app, alice.accessToken).del(`/api/groups/${groupId}/members/${bob.user.id}`)).status, 200);
		await stopped;
		closeAll(a, b);
	});

	test("bad input gets an error ack naming the problem; nothing is stored; the socket stays", TIMEOUT, async () => {
		const [a, d] = await Promise.all([connect(alice), connect(dave)]);
		const countBefore = (await client(app, alice.accessToken).get(`/api/messages/${teamId}?limit=1`)).body.items[0]?.seq ?? 0;
		const expectError = async (event: string, payload: unknown, code: number, field?: string) => {
			const ack = await emitWithAck(a, event, payload);
			assert.equal(ack.ok, false, `${event} ${JSON.stringify(payload)?.slice(0, 80)} → ${JSON.stringify(ack)}`);
			assert.equal(ack.error!.code, code, JSON.stringify(ack.error));
			if (field) assert.ok(JSON.stringify(ack.error).includes(field), `names ${field}: ${JSON.stringify(ack.error)}`);
		};
		await expectError("chat.message.send", "hello", 422, "payload");
		await expectError("chat.message.send", null, 422, "payload");
		await expectError("chat.message.send", [1, 2], 422, "payload");
		await expectError("chat.message.send", { groupId: 5, content: "x" }, 422, "groupId");
		await expectError("chat.message.send", { groupId: teamId, content: 42 }, 422, "content");
		await expectError("chat.message.send", { groupId: teamId, content: "x".repeat(100_000) }, 422, "content");
		await expectError("chat.message.send", { groupId: teamId, content: "   " }, 422, "content");
		await expectError("chat.message.send", { groupId: teamId, content: "x", clientMessageId: "bad id!" }, 422, "clientMessageId");
		await expectError("chat.message.send", { groupId: "0123456789abcdef01234567", content: "x" }, 404);
		await expectError("chat.message.delivered", { groupId: teamId, seq: "many" }, 422, "seq");
		await expectError("chat.message.seen", { groupId: teamId, seq: 10_000_000 }, 422, "seq");
		await expectError("chat.sync", { cursors: "all" }, 422, "cursors");
		await expectError("typing.start", { groupId: "nope" }, 422, "groupId");
		await expectError("user.heartbeat", { status: "sleeping" }, 422, "status");
		await expectError("presence.query", { userIds: ["x"] }, 422, "userIds");
		await expectError("auth.refresh", { token: 12 }, 422, "token");
		await expectError("auth.refresh", { token: "garbage" }, 401);
		await expectError("auth.refresh", { token: dave.accessToken }, 403);

		const outsider = await emitWithAck(d, "chat.message.send", { groupId: teamId, content: "let me in" });
		assert.equal(outsider.ok, false);
		assert.equal(outsider.error!.code, 404);

		// Without an ack nothing is done.
		a.emit("chat.message.send", { groupId: teamId, content: "nobody will know", clientMessageId: "no-ack" });
		a.emit("chat.message.send");
		a.emit("unknown.event", { x: 1 });

		const ok = await emitWithAck(a, "chat.message.send", { groupId: teamId, content: "still here", clientMessageId: "after-bad" });
		assert.equal(ok.ok, true, "the socket stays connected and usable");
		assert.ok(a.connected && d.connected);
		const history = (await client(app, alice.accessToken).get(`/api/messages/${teamId}?after=${countBefore}`)).body.items;
		assert.deepEqual(
			history.map((m: { content: string }) => m.content),
			["still here"]
		);
		closeAll(a, d);
	});

	test("membership changes move rooms live: added starts receiving, removed stops", TIMEOUT, async () => {
		const [a, b, d] = await Promise.all([connect(alice), connect(bob), connect(dave)]);
		const createdEvent = waitForEvent(b, "group.created", g => g.name === "Live rooms");
		const created = await client(app, alice.accessToken).post("/api/groups", { name: "Live rooms", memberIds: [bob.user.id] });
		const groupId = created.body.id;
		assert.equal((await createdEvent).id, groupId);
		const first = waitForEvent(b, "chat.message.incoming", m => m.groupId === groupId);
		await emitWithAck(a, "chat.message.send", { groupId, content: "welcome bob", clientMessageId: "live-1" });
		await first;

		const daveGot = collect(d, "chat.message.incoming");
		const added = waitForEvent(d, "group.member.added", e => e.groupId === groupId);
		await client(app, alice.accessToken).post(`/api/groups/${groupId}/members`, { userIds: [dave.user.id] });
		const addedEvent = await added;
		assert.deepEqual(addedEvent.userIds, [dave.user.id]);
		assert.equal(addedEvent.group.id, groupId);
		const m2 = await emitWithAck(a, "chat.message.send", { groupId, content: "welcome dave", clientMessageId: "live-2" });
		await waitFor(() => daveGot.some(m => m.id === m2.message.id), "dave receives after being added");

		const removed = waitForEvent(d, "group.member.removed", e => e.groupId === groupId && e.userId === dave.user.id);
		const bobSees = waitForEvent(b, "group.member.removed", e => e.groupId === groupId);
		await client(app, alice.accessToken).del(`/api/groups/${groupId}/members/${dave.user.id}`);
		await Promise.all([removed, bobSees]);
		const m3 = await emitWithAck(a, "chat.message.send", { groupId, content: "bye dave", clientMessageId: "live-3" });
		const marker = await emitWithAck(a, "chat.message.send", { groupId: daveDmId, content: "marker", clientMessageId: "live-marker" });
		await waitFor(() => daveGot.some(m => m.id === marker.message.id), "dave's marker");
		assert.ok(!daveGot.some(m => m.id === m3.message.id), "removed member receives nothing more");
		const typingOutside = await emitWithAck(d, "typing.start", { groupId });
		assert.equal(typingOutside.ok, false);

		// Leaving moves the leaver's rooms too.
		const bobGot = collect(b, "chat.message.incoming");
		await client(app, bob.accessToken).del(`/api/groups/${groupId}/members/${bob.user.id}`);
		const m4 = await emitWithAck(a, "chat.message.send", { groupId, content: "alone", clientMessageId: "live-4" });
		const bobMarker = await emitWithAck(a, "chat.message.send", { groupId: dmId, content: "marker", clientMessageId: "live-bob-marker" });
		await waitFor(() => bobGot.some(m => m.id === bobMarker.message.id), "bob's marker");
		assert.ok(!bobGot.some(m => m.id === m4.message.id));
		closeAll(a, b, d);
	});

	test("user.updated goes to people who share a conversation", TIMEOUT, async () => {
		const [a, c] = await Promise.all([connect(alice), connect(carol)]);
		const seen = waitForEvent(c, "user.updated", u => u.id === alice.user.id);
		const res = await client(app, alice.accessToken).put("/api/users/profile", { displayName: "Alice A." });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.equal((await seen).displayName, "Alice A.");
		closeAll(a, c);
	});

	test("operator actions: stats, sessions, announce, disconnectUser", TIMEOUT, async () => {
		const [b1, b2, c] = await Promise.all([connect(bob), connect(bob), connect(carol)]);
		const stats = await asOperator(app.broker).call<{ connected: number; messagesDelivered: number; nodeID: string }>("socket.stats");
		assert.ok(stats.connected >= 3);
		assert.ok(stats.messagesDelivered > 0);
		const sessions = await asOperator(app.broker).call<{ socketId: string; nodeID: string }[], object>("socket.sessions", { userId: bob.user.id });
		assert.deepEqual(new Set(sessions.map(s => s.socketId)), new Set([b1.id, b2.id]));
		assert.ok(sessions.every(s => s.nodeID === app.broker.nodeID));

		const toTeam = waitForEvent(c, "system.announcement", e => e.text === "team notice");
		await asOperator(app.broker).call("socket.announce", { text: "team notice", groupId: teamId });
		assert.equal((await toTeam).groupId, teamId);
		const toAll = waitForEvent(b1, "system.announcement", e => e.text === "maintenance at noon");
		await asOperator(app.broker).call("socket.announce", { text: "maintenance at noon" });
		await toAll;

		const result = await asOperator(app.broker).call<{ disconnected: number }, object>("socket.disconnectUser", { userId: bob.user.id });
		assert.equal(result.disconnected, 2);
		await waitFor(() => b1.disconnected && b2.disconnected, "bob's sockets closed");
		assert.ok(c.connected);
		await waitFor(
			async () => (await asOperator(app.broker).call<{ connected: number }>("socket.stats")).connected === stats.connected - 2,
			"stats count the disconnects"
		);
		closeAll(c);
	});
});

describe("socket gateway: token expiry", () => {
	let app: TestApp;
	let alice: TestUser;

	before(async () => {
		app = await startTestApp({ jwt: { ...(await import("../../lib/config.ts")).testConfig().jwt, accessTtlSeconds: 3 } });
		alice = await registerUser(app, "expiry");
	});
	after(() => app.stop());

	test("auth.refresh extends the connection; without it the server emits auth.expired and disconnects", TIMEOUT, async () => {
		const socket = await connectSocket(app.url, alice.accessToken);
		const firstExp = (jwt.decode(alice.accessToken) as { exp: number }).exp;
		const expired: unknown[] = collect(socket, "auth.expired");
		// A later token (exp has one-second resolution).
		await waitFor(() => Math.floor(Date.now() / 1000) > firstExp - 2, "a second to pass", 5000);
		const login = await client(app).post("/api/auth/login", { username: alice.user.username, password: "correct horse battery" });
		const refreshed = await emitWithAck(socket, "auth.refresh", { token: login.body.accessToken });
		assert.equal(refreshed.ok, true, JSON.stringify(refreshed));
		assert.ok(refreshed.exp > firstExp);
		await waitFor(() => Date.now() > firstExp * 1000 + 700, "the first token's expiry", 10_000);
		assert.equal(expired.length, 0);
		assert.ok(socket.connected, "still connected after the first token expired");
		await waitForEvent(socket, "disconnect", () => true, 10_000);
		assert.equal(expired.length, 1);
		assert.ok(Date.now() >= refreshed.exp * 1000 - 50);
	});
});
