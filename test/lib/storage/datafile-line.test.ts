import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { serializeDocument } from "../../../lib/storage/datafile-line.ts";

const nedbModel = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as { serialize(doc: object): string };

describe("serializeDocument", () => {
	test("writes the line NeDB's serialize writes, Dates at any depth included, and leaves the document as it was", () => {
		const at = new Date(1_733_000_000_123);
		const docs: object[] = [
			{ _id: "m1", groupId: "g", seq: 1, content: 'héllo \u2028 "quoted" \\ ✓ 😀', createdAt: at, deletedAt: null, editedAt: undefined, attachments: [] },
			{ _id: "m2", replyTo: { id: "m1", excerpt: { text: "x", at } }, reactions: [{ emoji: "👍", users: ["a", "b"], at: [at, at] }] },
			{ _id: "m3", numbers: [0, -0, 1.5, NaN, Infinity, -Infinity, 1e21], nested: [[at], [], [null, undefined]], flag: false },
			{ _id: "m4", deep: { a: { b: { c: { d: at } } } }, empty: {} },
			{ $$deleted: true, _id: "m5" },
			{ $$indexCreated: { fieldName: "groupSeq", unique: true, sparse: false } },
			{ _id: "m6", withToJSON: { toJSON: () => ({ turned: true, at: 1 }) } }
		];
		for (const doc of docs) {
			const before = nedbModel.serialize(doc);
			assert.equal(serializeDocument(doc), before);
			assert.equal(nedbModel.serialize(doc), before, "the document is unchanged");
		}
		const { createdAt } = docs[0] as { createdAt: Date };
		assert.ok(createdAt instanceof Date, "its Date is still a Date");
	});
});
