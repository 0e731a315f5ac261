import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import { describe, test } from "node:test";
import type { ServiceBroker } from "moleculer";
import { createNode } from "../../app/node.ts";
import { freePort } from "../../bench/lib/child.ts";
import { clusterLayout, pinThisProcess, unpinThisProcess } from "../../bench/lib/cpu-layout.ts";
import { Target, type BenchUser } from "../../bench/lib/targets.ts";
import { testConfig } from "../../lib/config.ts";

describe("clusterLayout", () => {
	test("generator first, then the core node, then one core per socket node", () => {
		assert.deepEqual(clusterLayout({ cores: 16, generatorCores: 6, coreNodeCores: 1, socketNodes: 8 }), {
			generator: "0-5",
			core: "6",
			sockets: ["7", "8", "9", "10", "11", "12", "13", "14"]
		});
		assert.deepEqual(clusterLayout({ cores: 4, generatorCores: 1, coreNodeCores: 2, socketNodes: 1 }), { generator: "0", core: "1-2", sockets: ["3"] });
	});

	test("no layout when the processes do not each get their own cores", () => {
		assert.equal(clusterLayout({ cores: 2, generatorCores: 2, coreNodeCores: 1, socketNodes: 1 }), null);
		assert.equal(clusterLayout({ cores: 16, generatorCores: 0, coreNodeCores: 1, socketNodes: 8 }), null);
	});
});

describe("pinThisProcess", () => {
	const allowed = (task: string) => /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${process.pid}/task/${task}/status`, "utf8"))![1];
	const threads = () => new Set(readdirSync(`/proc/${process.pid}/task`).map(allowed));

	test(
		"pins every thread of this process, and unpinning gives back the cores it had",
		{ skip: os.availableParallelism() < 2 || process.platform !== "linux" },
		() => {
			const before = [...threads()];
			try {
				assert.equal(pinThisProcess("0"), true);
				assert.deepEqual([...threads()], ["0"]);
			} finally {
				unpinThisProcess();
			}
			assert.deepEqual([...threads()], before);
		}
	);
});

class Gateways extends Target {
	constructor(count: number) {
		super("ours");
		this.gatewayUrls = Array.from({ length: count }, (_, i) => `http://127.0.0.1:${3000 + i}`);
	}
	async start() {}
	async createUsers(count: number): Promise<BenchUser[]> {
		return Array.from({ length: count }, (_, i) => ({ userId: `u${i}`, auth: {} }));
	}
	async createGroups(groups: BenchUser[][]): Promise<string[]> {
		return groups.map((_, i) => `g${i}`);
	}
}

describe("Target.clientSpecs over several gateways", () => {
	test("each conversation's members are spread evenly, and its first members (the senders) land on different gateways", async () => {
		const target = new Gateways(4);
		const users = await target.createUsers(20 * 100);
		const specs = target.clientSpecs(users, (_, i) => [`g${Math.floor(i / 100)}`]);
		for (let g = 0; g < 20; g++) {
			const perGateway = [0, 0, 0, 0];
			for (const s of specs.slice(g * 100, (g + 1) * 100)) perGateway[s.gateway!]++;
			assert.deepEqual(perGateway, [25, 25, 25, 25]);
		}
		const senders = [0, 0, 0, 0];
		for (let g = 0; g < 20; g++) for (const k of [0, 1]) senders[specs[g * 100 + k].gateway!]++;
		assert.deepEqual(senders, [10, 10, 10, 10]);
		assert.ok(specs.every(s => s.url === `http://127.0.0.1:${3000 + s.gateway!}`));
	});

	test("clients in no conversation go round-robin", async () => {
		const target = new Gateways(2);
		const specs = target.clientSpecs(await target.createUsers(4), () => [], 1);
		assert.deepEqual(
			specs.map(s => s.gateway),
			[1, 0, 1, 0]
		);
	});
});

describe("Moleculer's TCP transporter with the sealed transport", () => {
	test("nodes listed in a tcp:// list call each other; a node with another cluster secret hears nothing", { timeout: 60_000 }, async () => {
		const namespace = `tcp-test-${randomBytes(3).toString("hex")}`;
		const ids = ["a", "b", "rogue"].map(n => `${namespace}-${n}`);
		const ports = [await freePort(), await freePort(), await freePort()];
		const transporter = ids.map((id, i) => `tcp://127.0.0.1:${ports[i]}/${id}`).join(",");
		const secret = randomBytes(32).toString("hex");
		const node = (nodeID: string, clusterSecret: string) =>
			createNode(testConfig({ nodeID, namespace, transporter, clusterSecret, services: [], logLevel: "error" }));
		const brokers: ServiceBroker[] = [node(ids[0], secret), node(ids[1], secret), node(ids[2], randomBytes(32).toString("hex"))];
		brokers[0].createService({ name: "echo", actions: { hello: () => "hello over tcp" } });
		try {
			await Promise.all(brokers.map(b => b.start()));
			await brokers[1].waitForServices("echo", 30_000);
			assert.equal(await brokers[1].call("echo.hello"), "hello over tcp");
			await assert.rejects(brokers[2].waitForServices("echo", 3000));
		} finally {
			await Promise.all(brokers.map(b => b.stop()));
		}
	});
});
