import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GroupChangeLock } from "../../../services/groups/change-lock.ts";

const tick = () => new Promise(resolve => setImmediate(resolve));

describe("group change lock", () => {
	test("changes of one group run one at a time, in arrival order, a failed one not blocking the next; other groups do not wait", async () => {
		const lock = new GroupChangeLock();
		const log: string[] = [];
		const step = (name: string) => async () => {
			log.push(`${name} start`);
			await tick();
			log.push(`${name} end`);
			if (name === "g1 b") throw new Error("refused");
			return name;
		};
		const results = await Promise.allSettled([
			lock.run("g1", step("g1 a")),
			lock.run("g1", step("g1 b")),
			lock.run("g1", step("g1 c")),
			lock.run("g2", step("g2 a"))
		]);
		assert.deepEqual(
			results.map(r => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
			["g1 a", "refused", "g1 c", "g2 a"]
		);
		const g1 = log.filter(l => l.startsWith("g1"));
		assert.deepEqual(g1, ["g1 a start", "g1 a end", "g1 b start", "g1 b end", "g1 c start", "g1 c end"]);
		assert.ok(log.indexOf("g2 a start") < log.indexOf("g1 a end"), "another group's change does not wait");
		await tick();
		assert.equal(lock.size, 0, "nothing is kept once the changes are done");
	});

	test("users are locked in one order, so overlapping sets wait for each other without a deadlock", async () => {
		const lock = new GroupChangeLock();
		let inside = 0;
		let most = 0;
		const work = async () => {
			most = Math.max(most, ++inside);
			await tick();
			inside--;
		};
		await Promise.all([lock.runForUsers(["u1", "u2"], work), lock.runForUsers(["u2", "u1"], work), lock.runForUsers(["u3", "u1", "u3"], work)]);
		assert.equal(most, 1);
		assert.deepEqual(await lock.runForUsers([], async () => "none"), "none");
		await tick();
		assert.equal(lock.size, 0);
	});
});
