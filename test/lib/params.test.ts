import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertShallow, MAX_PAYLOAD_DEPTH, queryIntegers } from "../../lib/params.ts";

const nested = (depth: number): unknown => (depth <= 1 ? [] : [nested(depth - 1)]);

describe("payload depth", () => {
	test("payloads up to the limit pass, deeper ones are a 422 naming the top-level field", () => {
		assertShallow({ a: nested(MAX_PAYLOAD_DEPTH - 1) });
		assertShallow({ attachments: [{ assetId: "x" }], cursors: { a: 1 } });
		assertShallow("text");
		assert.throws(
			() => assertShallow({ ok: 1, deep: nested(MAX_PAYLOAD_DEPTH) }),
			(err: { code: number; data: { field: string; type: string }[] }) => err.code === 422 && err.data[0].field === "deep" && err.data[0].type === "depth"
		);
	});

	test("a hundred thousand levels are refused without overflowing the stack", () => {
		const deep = JSON.parse("[".repeat(100_000) + "]".repeat(100_000));
		assert.throws(() => assertShallow({ x: deep }), /nested too deeply/);
	});

	test("only plain objects and arrays are walked", () => {
		assertShallow({ at: new Date(), bytes: Buffer.alloc(10) });
	});
});

describe("query integers", () => {
	const schema = { limit: { type: "number" }, after: "number|optional", search: { type: "string" } };

	test("canonical decimal integers of declared number params become numbers; nothing else changes", () => {
		const cases: [string, unknown][] = [
			["5", 5],
			["0", 0],
			["-3", -3],
			["05", "05"],
			["1e3", "1e3"],
			["", ""],
			["true", "true"],
			[" 5", " 5"],
			["5.0", "5.0"],
			["-0", "-0"],
			["99999999999999999", "99999999999999999"]
		];
		for (const [given, expected] of cases) {
			const params: Record<string, unknown> = { limit: given };
			queryIntegers(params, ["limit"], schema);
			assert.equal(params.limit, expected, JSON.stringify(given));
		}
		const params: Record<string, unknown> = { after: "7", search: "12", limit: "3" };
		queryIntegers(params, ["after", "search"], schema);
		assert.deepEqual(params, { after: 7, search: "12", limit: "3" }, "a string param stays a string; a body field is not converted");
	});
});
