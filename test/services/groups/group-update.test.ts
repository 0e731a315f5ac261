import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { verifyAssetUrl } from "../../../lib/asset-urls.ts";
import { groupUpdate } from "../../../services/groups/group-update.ts";

const SECRET = "s".repeat(32);
const ASSET = "a".repeat(24);

describe("groupUpdate", () => {
	test("a rename and a picture: the fields to set and one system line each", () => {
		const { set, lines } = groupUpdate({ name: "Old" }, { name: "New", avatarAssetId: ASSET }, SECRET);
		assert.equal(set.name, "New");
		assert.equal(set.avatarAssetId, ASSET);
		const url = new URL(set.avatarUrl!, "http://x");
		assert.equal(url.pathname, `/api/assets/${ASSET}/thumb`);
		assert.equal(url.searchParams.get("exp"), "0", "a picture URL does not expire");
		assert.ok(verifyAssetUrl(SECRET, ASSET, "thumb", 0, url.searchParams.get("sig")!));
		assert.deepEqual(lines, [
			{ type: "group.renamed", name: "New", previousName: "Old" },
			{ type: "group.avatar", avatarUrl: set.avatarUrl }
		]);
	});

	test("clearing the picture; what is already there changes nothing", () => {
		assert.deepEqual(groupUpdate({ name: "Same", avatarAssetId: ASSET }, { avatarAssetId: null }, SECRET), {
			set: { avatarAssetId: null, avatarUrl: null },
			lines: [{ type: "group.avatar", avatarUrl: null }]
		});
		assert.deepEqual(groupUpdate({ name: "Same", avatarAssetId: ASSET }, { name: "Same", avatarAssetId: ASSET }, SECRET), { set: {}, lines: [] });
		assert.deepEqual(groupUpdate({ name: "Same" }, { avatarAssetId: null }, SECRET), { set: {}, lines: [] }, "no picture, none asked");
		assert.deepEqual(groupUpdate({ name: "Same" }, {}, SECRET), { set: {}, lines: [] });
	});
});
