import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Leadership, leaderOf, type ServiceEndpoint } from "../../../services/kafka-bridge/leader.ts";

const bridges = (...nodeIDs: string[]): ServiceEndpoint[] => nodeIDs.map(nodeID => ({ name: "kafka-bridge", nodeID }));

describe("leaderOf", () => {
	test("the lowest nodeID among the nodes running the bridge", () => {
		assert.equal(leaderOf(bridges("node-c", "node-a", "node-b"), "kafka-bridge"), "node-a");
		assert.equal(leaderOf(bridges("node-b"), "kafka-bridge"), "node-b");
	});

	test("nodes running other services do not count, and without a bridge there is no leader", () => {
		const services = [{ name: "messages", nodeID: "a" }, ...bridges("m", "z"), { name: "api", nodeID: "b" }];
		assert.equal(leaderOf(services, "kafka-bridge"), "m");
		assert.equal(leaderOf([{ name: "messages", nodeID: "a" }], "kafka-bridge"), null);
		assert.equal(leaderOf([], "kafka-bridge"), null);
	});

	test("nodeIDs compare as strings, the same on every node", () => {
		assert.equal(leaderOf(bridges("node-10", "node-9"), "kafka-bridge"), "node-10");
	});

	test("the input is left as it was", () => {
		const services = bridges("b", "a");
		leaderOf(services, "kafka-bridge");
		assert.deepEqual(services, bridges("b", "a"));
	});
});

describe("Leadership", () => {
	function registryOf(nodeIDs: string[]) {
		const asked: unknown[] = [];
		return { asked, getServiceList: (opts: { onlyAvailable: boolean }) => (asked.push(opts), bridges(...nodeIDs)) };
	}

	test("a node leads once it is the lowest available bridge and its settle time has passed", () => {
		const registry = registryOf(["a", "b"]);
		const a = new Leadership({ registry, serviceName: "kafka-bridge", nodeID: "a", settleMs: 3000 }, 1000);
		assert.equal(a.leader(), "a");
		assert.equal(a.isLeader(3999), false, "still learning the cluster");
		assert.equal(a.isLeader(4000), true);
		assert.deepEqual(registry.asked[0], { onlyAvailable: true });
		const b = new Leadership({ registry, serviceName: "kafka-bridge", nodeID: "b", settleMs: 0 }, 1000);
		assert.equal(b.isLeader(1000), false);
	});

	test("the registry is read at every look: when the leader leaves, the next bridge takes over", () => {
		const nodes = ["a", "b"];
		const b = new Leadership({ registry: { getServiceList: () => bridges(...nodes) }, serviceName: "kafka-bridge", nodeID: "b", settleMs: 0 }, 0);
		assert.equal(b.isLeader(1), false);
		nodes.shift();
		assert.equal(b.leader(), "b");
		assert.equal(b.isLeader(1), true);
	});
});
