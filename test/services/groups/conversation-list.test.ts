import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeCursor, encodeCursor, pageOf, type ListPosition } from "../../../services/groups/conversation-list.ts";

const id = (n: number) => n.toString(16).padStart(24, "0");
const at = (n: number, activityAt: number): ListPosition => ({ id: id(n), activityAt });

describe("conversation list pages", () => {
	test("newest activity first, ties broken by id, and the cursor round-trips", () => {
		const positions = [at(1, 10), at(2, 30), at(3, 20), at(4, 30)];
		const { page, next } = pageOf(positions, 3, null);
		assert.deepEqual(
			page.map(p => p.id),
			[id(4), id(2), id(3)]
		);
		assert.ok(next);
		assert.deepEqual(decodeCursor(next), at(3, 20));
		const rest = pageOf(positions, 3, decodeCursor(next));
		assert.deepEqual(
			rest.page.map(p => p.id),
			[id(1)]
		);
		assert.equal(rest.next, null);
	});

	test("a conversation that moves up after a page does not come again; the others keep their places", () => {
		const first = pageOf([at(1, 50), at(2, 40), at(3, 30), at(4, 20)], 2, null);
		// id(4) gets a message: newer than everything on the first page.
		const second = pageOf([at(1, 50), at(2, 40), at(3, 30), at(4, 60)], 2, decodeCursor(first.next!));
		assert.deepEqual(
			second.page.map(p => p.id),
			[id(3)]
		);
		// id(1), already listed, gets a message: it is not listed again.
		const third = pageOf([at(1, 70), at(2, 40), at(3, 30), at(4, 20)], 2, decodeCursor(first.next!));
		assert.deepEqual(
			third.page.map(p => p.id),
			[id(3), id(4)]
		);
	});

	test("anything but a cursor we made is a validation error", () => {
		for (const bad of ["", "abc", Buffer.from("x:y").toString("base64url"), Buffer.from(`1:${id(1)}x`).toString("base64url")])
			assert.throws(() => decodeCursor(bad), /cursor/);
		assert.deepEqual(decodeCursor(encodeCursor(at(7, 123))), at(7, 123));
	});
});
