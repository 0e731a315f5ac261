import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Collection } from "../../../mixins/db.mixin.ts";
import { claimAssets } from "../../../services/assets/claims.ts";
import type { AssetDoc } from "../../../services/assets/documents.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";

const asset = (id: string, ownerId = "alice", mimeType = "image/png"): AssetDoc =>
	({ _id: id, ownerId, name: `${id}.png`, size: 1, mimeType, purpose: "attachment", hiddenAt: null, createdAt: new Date() }) as AssetDoc;

/** updateMany as MongoDB counts it: documents the update changed, not those it matched (NeDB's count). */
function countingModified(assets: Collection<AssetDoc>): Collection<AssetDoc> {
	return new Proxy(assets, {
		get(target, name, receiver) {
			if (name !== "updateMany") return Reflect.get(target, name, receiver);
			return async (query: Record<string, unknown>, update: { $set: Partial<AssetDoc> }) => {
				const before = await target.find(query);
				await target.updateMany(query, update);
				return before.filter(doc => Object.entries(update.$set).some(([field, value]) => doc[field as keyof AssetDoc] !== value)).length;
			};
		}
	});
}

describe("asset claims", () => {
	for (const [store, wrap] of [
		["NeDB", (c: Collection<AssetDoc>) => c],
		["MongoDB's counts", countingModified]
	] as const) {
		test(`${store}: a use claims again what it holds; another use is refused and takes nothing`, async () => {
			const raw = await memoryCollection<AssetDoc>("assets");
			for (const id of ["a", "b", "c"]) await raw.insert(asset(id));
			const assets = wrap(raw);
			const claim = (ids: string[], use: string) => claimAssets(assets, { ids, ownerId: "alice", use, field: "attachments" });
			assert.deepEqual(
				(await claim(["a"], "picture")).map(d => d.id),
				["a"]
			);
			assert.deepEqual(
				(await claim(["a"], "picture")).map(d => d.id),
				["a"],
				"pictures share one"
			);
			await claim(["b"], "message:alice:1");
			await claim(["b"], "message:alice:1");
			await assert.rejects(claim(["c", "b"], "message:alice:2"), { code: 409, type: "ASSET_IN_USE" });
			assert.equal((await raw.findById("c"))?.usedBy, null, "the refused claim released c");
			await assert.rejects(claim(["a"], "message:alice:3"), { type: "ASSET_IN_USE" });
			await assert.rejects(claimAssets(assets, { ids: ["c"], ownerId: "bob", use: "picture", field: "avatarAssetId" }), { code: 422 });
		});
	}
});
