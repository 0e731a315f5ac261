import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeSyncToken, encodeSyncToken, MAX_TOKEN_GROUPS, mergeMarks, SyncTokenError } from "../../../services/messages/sync-token.ts";

const SECRET = "a test secret that is long enough";
const ALICE = "a".repeat(24);
const g = (n: number) => n.toString(16).padStart(24, "0");

describe("sync tokens", () => {
	test("round-trip the marks of the user they were issued to", () => {
		const marks = new Map([
			[g(1), 0],
			[g(2), 17],
			[g(3), 2 ** 40]
		]);
		const token = encodeSyncToken(marks, ALICE, SECRET);
		assert.match(token, /^[A-Za-z0-9_-]+$/);
		assert.deepEqual(decodeSyncToken(token, ALICE, SECRET), marks);
		assert.deepEqual(decodeSyncToken(encodeSyncToken(new Map(), ALICE, SECRET), ALICE, SECRET), new Map());
	});

	test("refuse another user's, another server's, altered, truncated and made-up tokens", () => {
		const token = encodeSyncToken(new Map([[g(1), 5]]), ALICE, SECRET);
		const refused = (t: string, user = ALICE, secret = SECRET) => assert.throws(() => decodeSyncToken(t, user, secret), SyncTokenError, t.slice(0, 30));
		refused(token, "b".repeat(24));
		refused(token, ALICE, "another server's secret");
		const raw = Buffer.from(token, "base64url");
		raw[14] ^= 1;
		refused(raw.toString("base64url"));
		refused(token.slice(0, -3));
		refused("");
		refused("not a token!");
		refused("A".repeat(60));
		refused(Buffer.from(JSON.stringify({ [g(1)]: 999 })).toString("base64url"));
	});

	test("stay bounded: at most MAX_TOKEN_GROUPS conversations, a fixed size per conversation", () => {
		const many = new Map(Array.from({ length: MAX_TOKEN_GROUPS + 50 }, (_, i) => [g(i + 1), i]));
		const token = encodeSyncToken(many, ALICE, SECRET);
		assert.equal(decodeSyncToken(token, ALICE, SECRET).size, MAX_TOKEN_GROUPS);
		assert.ok(token.length < 25_000, `${token.length} characters`);
	});

	test("a merge keeps this sync's marks and the earlier token's other conversations", () => {
		const merged = mergeMarks(
			new Map([
				[g(1), 9],
				[g(2), 4]
			]),
			new Map([
				[g(1), 3],
				[g(3), 7]
			])
		);
		assert.deepEqual(
			[...merged],
			[
				[g(1), 9],
				[g(2), 4],
				[g(3), 7]
			]
		);
	});
});
