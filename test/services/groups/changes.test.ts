import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { groupChange, streamedChange } from "../../../services/groups/changes.ts";
import type { GroupDoc } from "../../../services/groups/documents.ts";

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);
const group: GroupDoc = { _id: "g1", type: "group", name: "Team", createdBy: "alice", createdAt: at(0), updatedAt: at(5000) };

describe("group changes", () => {
	test("one payload: the group as the change leaves it, members in joining order, the actor, the details", () => {
		const change = groupChange<"group.member.added">(
			group,
			[
				{ userId: "carol", role: "member", joinedAt: at(2000) },
				{ userId: "alice", role: "owner", joinedAt: at(0) },
				{ userId: "bob", role: "admin", joinedAt: at(1000) }
			],
			"bob",
			{ userIds: ["carol"] }
		);
		assert.deepEqual(change, {
			groupId: "g1",
			userIds: ["carol"],
			group: {
				id: "g1",
				type: "group",
				name: "Team",
				members: [
					{ userId: "alice", role: "owner" },
					{ userId: "bob", role: "admin" },
					{ userId: "carol", role: "member" }
				],
				memberCount: 3,
				avatarUrl: null,
				createdAt: at(0).toISOString(),
				updatedAt: at(5000).toISOString()
			},
			memberIds: ["alice", "bob", "carol"],
			actorId: "bob"
		});
	});

	test("the stream carries the same payload without the groupId its envelope names", () => {
		const change = groupChange<"group.member.removed">(group, [{ userId: "alice", role: "owner", joinedAt: at(0) }], "alice", { userId: "bob" });
		const { groupId, ...rest } = change;
		assert.equal(groupId, "g1");
		assert.deepEqual(streamedChange<"group.member.removed">(change), rest);
	});
});
