import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { client, registerUser, type TestUser } from "../../helpers/app.ts";
import { sha256, startAssetsApp, uploadFile, type AssetsTestApp } from "../../helpers/assets.ts";

/** The quota is taken before the slow part of storing a file, so uploads side by side cannot all fit in the same room. */

const QUOTA = 1024 * 1024;
const SIZE = 600 * 1024;
const TIMEOUT = { timeout: 60_000 };
let app: AssetsTestApp;

before(async () => {
	app = await startAssetsApp({ maxBytes: 2 * 1024 * 1024, quotaBytes: QUOTA });
});
after(() => app.stop());

const pdf = () => Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(SIZE - 9)]);

async function storedBytes(user: TestUser): Promise<number> {
	const assets = (app.broker.getLocalService("assets") as unknown as { db: { assets: { find(q: object): Promise<{ size: number }[]> } } }).db.assets;
	return (await assets.find({ ownerId: user.user.id })).reduce((sum, doc) => sum + doc.size, 0);
}

test("parallel single uploads: one fits, the others are refused (413)", TIMEOUT, async () => {
	const alice = await registerUser(app, "alice");
	const results = await Promise.all(Array.from({ length: 6 }, () => uploadFile(app, alice.accessToken, pdf(), { name: "a.pdf", type: "application/pdf" })));
	assert.deepEqual(results.map(r => r.status).sort(), [201, 413, 413, 413, 413, 413]);
	assert.equal(await storedBytes(alice), SIZE);
});

test("resumable uploads completed side by side: one fits, the others are refused (413)", TIMEOUT, async () => {
	const bob = await registerUser(app, "bob");
	const api = client(app, bob.accessToken);
	const ups: { uploadId: string; file: Buffer }[] = [];
	for (let n = 0; n < 4; n++) {
		const file = pdf();
		const created = await api.post("/api/assets/uploads", { name: "b.pdf", size: file.length, mimeType: "application/pdf" });
		assert.equal(created.status, 201, JSON.stringify(created.body));
		const { uploadId, chunkSize, totalChunks } = created.body;
		for (let i = 0; i < totalChunks; i++) {
			const res = await fetch(`${app.url}/api/assets/uploads/${uploadId}/chunks/${i}`, {
				method: "PUT",
				headers: { authorization: `Bearer ${bob.accessToken}`, "content-type": "application/octet-stream" },
				body: file.subarray(i * chunkSize, (i + 1) * chunkSize)
			});
			assert.equal(res.status, 200, await res.text());
		}
		ups.push({ uploadId, file });
	}
	const done = await Promise.all(ups.map(u => api.post(`/api/assets/uploads/${u.uploadId}/complete`, { checksum: sha256(u.file) })));
	assert.deepEqual(done.map(r => r.status).sort(), [201, 413, 413, 413]);
	assert.equal(await storedBytes(bob), SIZE);
	// The refused uploads gave their reservations back: a small file still fits next to the stored one.
	const again = await uploadFile(app, bob.accessToken, Buffer.from("%PDF-1.7\nsmall\n"), { name: "c.pdf", type: "application/pdf" });
	assert.equal(again.status, 201, JSON.stringify(again.body));
});
