import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { idParam, params } from "../../lib/params.ts";
import { ChatValidator } from "../../lib/validator.ts";

type Issue = { type: string; field: string; message: string };

describe("the node's validator", () => {
	const check = new ChatValidator().compile(
		params({
			groupId: idParam,
			attachments: { type: "array", optional: true, items: { type: "object", props: { assetId: idParam } } },
			ids: { type: "array", optional: true, items: idParam }
		})
	) as unknown as (value: object) => true | Issue[];
	const groupId = "a".repeat(24);

	test("a null where a value must be is named as null, not as missing (an array's item names the array)", () => {
		const issues = check({ groupId, attachments: [null], ids: [groupId, null] }) as Issue[];
		assert.deepEqual(
			issues.map(i => [i.field, i.type, i.message]),
			[
				["attachments", "arrayNull", "The 'attachments' field must not contain null."],
				["ids", "arrayNull", "The 'ids' field must not contain null."]
			]
		);
		assert.deepEqual(
			(check({ groupId: null }) as Issue[]).map(i => i.message),
			["The 'groupId' field must not be null."]
		);
	});

	test("a missing field is still required, and valid input passes", () => {
		assert.deepEqual(
			(check({}) as Issue[]).map(i => [i.type, i.message]),
			[["required", "The 'groupId' field is required."]]
		);
		assert.equal(check({ groupId, attachments: [{ assetId: groupId }] }), true);
	});
});
