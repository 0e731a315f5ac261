import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { Message } from "../../contract/messages.ts";
import { useTestApp, type TestUser } from "../helpers/app.ts";

describe("history around a message: GET /api/messages/:groupId?around=", () => {
	const t = useTestApp(["alice", "bob", "out"]);
	const { api } = t;
	let alice: TestUser, bob: TestUser, outsider: TestUser;
	let groupId: string;

	before(async () => {
		[alice, bob, outsider] = t.users;
		groupId = await t.group(alice, "Long", [bob]);
		for (let i = 1; i <= 30; i++) await t.send(i % 3 ? alice : bob, groupId, `m${i}`);
	});

	const page = async (query: string, user = bob) => {
		const res = await api(user).get(`/api/messages/${groupId}?${query}`);
		assert.equal(res.status, 200, JSON.stringify(res.body));
		return (res.body.items as Message[]).map(m => m.seq);
	};
	const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

	test("the page is centred on the seq, ascending, with the messages as history serves them", async () => {
		assert.deepEqual(await page("around=15&limit=10"), seqs(11, 20));
		assert.deepEqual(await page("around=15&limit=5"), seqs(13, 17));
		assert.deepEqual(await page("around=15&limit=1"), [15]);
		assert.deepEqual(await page("around=15"), seqs(1, 30), "the default limit (50) holds the whole conversation");
		const [centre] = (await api(bob).get(`/api/messages/${groupId}?around=15&limit=1`)).body.items as Message[];
		const [same] = (await api(bob).get(`/api/messages/${groupId}?after=14&limit=1`)).body.items as Message[];
		assert.deepEqual(centre, same);
		assert.equal(centre.content, "m15");
	});

	test("at either end the page moves inwards and stays full; past the end it is the latest page", async () => {
		assert.deepEqual(await page("around=1&limit=10"), seqs(1, 10));
		assert.deepEqual(await page("around=3&limit=10"), seqs(1, 10));
		assert.deepEqual(await page("around=30&limit=10"), seqs(21, 30));
		assert.deepEqual(await page("around=28&limit=10"), seqs(21, 30));
		assert.deepEqual(await page("around=500&limit=10"), seqs(21, 30));
	});

	test("one position at most, seqs from 1, members only", async () => {
		for (const query of [
			"around=5&before=9",
			"around=5&after=2",
			"before=9&after=2",
			"around=0",
			"around=-1",
			"around=x",
			"around=5&limit=0",
			"around=5&limit=101"
		]) {
			const res = await api(bob).get(`/api/messages/${groupId}?${query}`);
			assert.equal(res.status, 422, `${query}: ${res.status} ${JSON.stringify(res.body)}`);
		}
		const both = await api(bob).get(`/api/messages/${groupId}?around=5&before=9`);
		assert.equal(both.body.data[0].field, "before");
		assert.equal((await api(outsider).get(`/api/messages/${groupId}?around=5`)).status, 404);
	});
});
