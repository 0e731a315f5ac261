import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { storeConflicts } from "../../lib/single-store.ts";

describe("one node per store service (NeDB files belong to one process)", () => {
	const core = { nodeID: "core-1", services: ["users", "auth", "groups", "messages", "presence"], store: "nedb" as const, startedAt: 2000 };

	test("a peer with a store service this node runs too is a conflict; the younger node yields", () => {
		const older = { nodeID: "core-0", services: ["users", "messages", "socket"], store: "nedb" as const, startedAt: 1000 };
		assert.deepEqual(storeConflicts(core, [older]), [{ peer: "core-0", services: ["messages", "users"], yields: true }]);
		assert.deepEqual(storeConflicts({ ...older, services: ["users", "messages", "socket"] }, [core]), [
			{ peer: "core-1", services: ["messages", "users"], yields: false }
		]);
		// Started in the same millisecond: the node ids decide, the same way on both sides.
		const twin = { ...core, nodeID: "core-2" };
		assert.deepEqual([storeConflicts(core, [twin])[0].yields, storeConflicts(twin, [core])[0].yields], [false, true]);
	});

	test("stateless services, presence, itself and MongoDB on both sides are no conflict; MongoDB on one side is", () => {
		const gateway = { nodeID: "gw", services: ["api", "socket", "presence", "search"], store: "nedb" as const, startedAt: 1 };
		assert.deepEqual(storeConflicts(core, [gateway, { ...core }]), []);
		const mongoCore = { ...core, store: "mongo" as const };
		assert.deepEqual(storeConflicts(mongoCore, [{ ...mongoCore, nodeID: "core-0", startedAt: 1 }]), []);
		assert.equal(storeConflicts(mongoCore, [{ ...core, nodeID: "core-0", startedAt: 1 }]).length, 1);
	});
});
