import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";

/** A plain send has no idempotency lookup of its own: the unique clientKey index catches its retry as it is stored. */
describe("retried sends", () => {
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let groupId: string;
	let otherId: string;

	before(async () => {
		app = await startTestApp();
		[alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
		const a = client(app, alice.accessToken);
		groupId = (await a.post("/api/groups", { name: "Team", memberIds: [bob.user.id] })).body.id;
		otherId = (await a.post("/api/groups", { name: "Other", memberIds: [] })).body.id;
	});
	after(() => app.stop());

	test("a retry answers with the first copy and takes no seq", async () => {
		const a = client(app, alice.accessToken);
		const first = await a.post("/api/messages", { groupId, content: "once", clientMessageId: "r-1" });
		assert.equal(first.status, 201);
		const retried = await a.post("/api/messages", { groupId, content: "once, edited before the retry", clientMessageId: "r-1" });
		assert.equal(retried.body.id, first.body.id);
		assert.equal(retried.body.content, "once");
		const next = await a.post("/api/messages", { groupId, content: "next", clientMessageId: "r-2" });
		assert.equal(next.body.seq, first.body.seq + 1, "seqs stay gapless");
	});

	test("the same clientMessageId from another sender is another message", async () => {
		const mine = await client(app, alice.accessToken).post("/api/messages", { groupId, content: "alice", clientMessageId: "shared" });
		const theirs = await client(app, bob.accessToken).post("/api/messages", { groupId, content: "bob", clientMessageId: "shared" });
		assert.equal(theirs.status, 201);
		assert.notEqual(theirs.body.id, mine.body.id);
		assert.equal(theirs.body.seq, mine.body.seq + 1);
	});

	test("a retry into another conversation is refused and stores nothing there", async () => {
		const a = client(app, alice.accessToken);
		assert.equal((await a.post("/api/messages", { groupId, content: "here", clientMessageId: "r-3" })).status, 201);
		const refused = await a.post("/api/messages", { groupId: otherId, content: "there", clientMessageId: "r-3" });
		assert.equal(refused.status, 409);
		assert.equal(refused.body.type, "CLIENT_MESSAGE_ID_REUSED");
		assert.deepEqual((await a.get(`/api/messages/${otherId}`)).body.items, []);
		const firstThere = await a.post("/api/messages", { groupId: otherId, content: "there", clientMessageId: "r-4" });
		assert.equal(firstThere.body.seq, 1, "the refused send took no seq");
	});
});
