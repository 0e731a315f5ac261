import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MembershipDoc } from "../../../services/groups/documents.ts";
import { heirOf, Memberships } from "../../../services/groups/memberships.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";

const member = (userId: string, role: MembershipDoc["role"], joinedMs: number): MembershipDoc => ({
	_id: `g:${userId}`,
	groupId: "g",
	userId,
	role,
	joinedAt: new Date(1_000_000 + joinedMs)
});

describe("memberships", () => {
	test("the heir is the longest-standing admin, else the longest-standing member", () => {
		assert.equal(heirOf([member("m2", "member", 2), member("a2", "admin", 4), member("a1", "admin", 3), member("m1", "member", 1)])?.userId, "a1");
		assert.equal(heirOf([member("m2", "member", 2), member("m1", "member", 1)])?.userId, "m1");
		assert.equal(heirOf([]), undefined);
	});

	test("adding skips members already there; the last owner leaving hands ownership on, another owner keeps it", async () => {
		const memberships = new Memberships(await memoryCollection<MembershipDoc>("memberships"));
		assert.deepEqual(await memberships.add("g", ["owner"], "owner", "owner"), ["owner"]);
		assert.deepEqual(await memberships.add("g", ["m1", "owner", "m2"], "member", "owner"), ["m1", "m2"]);
		await memberships.setRole("g", "m2", "admin", "owner");
		await memberships.remove("g", "owner", "owner");
		const roles = async () => Object.fromEntries((await memberships.inGroup("g")).map(m => [m.userId, m.role]));
		assert.deepEqual(await roles(), { m1: "member", m2: "owner" });
		await memberships.setRole("g", "m1", "owner", "m2");
		assert.deepEqual(await roles(), { m1: "owner", m2: "admin" }, "handing ownership on makes the previous owner an admin");
		await memberships.remove("g", "m2", "admin");
		assert.deepEqual(await roles(), { m1: "owner" });
	});
});
