import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KNOWN_ADDRESSES, LoginThrottle, rememberAddress } from "../../lib/login-throttle.ts";
import { MemoryRateLimiter } from "../../lib/rate-limiter.ts";

const throttle = (newAccountsPerAddress = 100) =>
	new LoginThrottle(
		{
			byAddress: new MemoryRateLimiter({ perSecond: 1 / 60, burst: 2 }),
			byAccount: new MemoryRateLimiter({ perSecond: 1 / 60, burst: 3 }),
			byAddressNewAccounts: new MemoryRateLimiter({ perSecond: 1 / 60, burst: newAccountsPerAddress })
		},
		"secret"
	);
const refused = (p: Promise<unknown>) => assert.rejects(p, (err: { code: number }) => err.code === 429);

describe("login throttle", () => {
	test("each account and address pair has its own bucket", async () => {
		const t = throttle();
		await t.admit("ann", "a", true, 0);
		await t.admit("ann", "a", true, 0);
		await refused(t.admit("ann", "a", true, 0));
		await t.admit("ann", "b", true, 0);
		await t.admit("bob", "a", true, 0);
		await t.admit("ann", "a", true, 60_000);
	});

	test("unknown addresses share the account's bucket; known ones never take from it", async () => {
		const t = throttle();
		for (const address of ["x", "y", "z"]) await t.admit("ann", address, false, 0);
		await refused(t.admit("ann", "w", false, 0));
		await t.admit("ann", "home", true, 0);
		await t.admit("ann", "w", false, 60_000);
	});

	test("one address shares one bucket over the accounts that do not know it; known accounts never take from it", async () => {
		const t = throttle(2);
		await t.admit("ann", "x", false, 0);
		await t.admit("bob", "x", false, 0);
		await refused(t.admit("cy", "x", false, 0));
		await t.admit("cy", "y", false, 0);
		await t.admit("dee", "x", true, 0);
		await t.admit("cy", "x", false, 60_000);
	});

	test("admitFrom names the address by its key and checks it against the remembered ones", async () => {
		const t = throttle(1);
		assert.equal(await t.admitFrom("ann", "10.0.0.1", []), t.addressKey("10.0.0.1"));
		assert.equal(await t.admitFrom("bob", undefined, undefined), t.addressKey("internal"));
		await refused(t.admitFrom("cy", "10.0.0.1", []));
		await t.admitFrom("cy", "10.0.0.1", [t.addressKey("10.0.0.1")]);
	});

	test("address keys are keyed hashes; remembered addresses are capped, most recent first", () => {
		const t = throttle();
		assert.equal(t.addressKey("10.0.0.1"), t.addressKey("10.0.0.1"));
		assert.notEqual(t.addressKey("10.0.0.1"), t.addressKey("10.0.0.2"));
		assert.ok(!t.addressKey("10.0.0.1").includes("10.0"));
		let known: string[] = [];
		for (let i = 0; i < 15; i++) known = rememberAddress(known, `k${i}`);
		assert.equal(known.length, KNOWN_ADDRESSES);
		assert.equal(known[0], "k14");
		assert.deepEqual(rememberAddress(["a", "b", "c"], "b"), ["b", "a", "c"]);
	});
});
