import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { UploadDoc } from "../../../services/assets/documents.ts";
import { chunkLength, uploadStatus } from "../../../services/assets/uploads.ts";

const upload = (overrides: Partial<UploadDoc> = {}): UploadDoc => ({
	_id: "b".repeat(24),
	ownerId: "c".repeat(24),
	name: "film.mp4",
	size: 2500,
	mimeType: "video/mp4",
	purpose: "attachment",
	chunkSize: 1000,
	totalChunks: 3,
	received: [],
	createdAt: new Date(0),
	expiresAt: new Date(86_400_000),
	assetId: null,
	...overrides
});

describe("chunkLength", () => {
	test("every chunk is chunkSize but the last, which holds the rest", () => {
		assert.deepEqual(
			[0, 1, 2].map(i => chunkLength(upload(), i)),
			[1000, 1000, 500]
		);
		assert.equal(chunkLength({ size: 3000, chunkSize: 1000, totalChunks: 3 }, 2), 1000);
		assert.equal(chunkLength({ size: 1, chunkSize: 1000, totalChunks: 1 }, 0), 1);
	});
});

describe("uploadStatus", () => {
	test("received chunks in order and once each; the others are missing", () => {
		const status = uploadStatus(upload({ received: [2, 0, 2] }));
		assert.deepEqual(status, {
			uploadId: "b".repeat(24),
			name: "film.mp4",
			size: 2500,
			chunkSize: 1000,
			totalChunks: 3,
			receivedChunks: [0, 2],
			missingChunks: [1],
			assetId: null,
			expiresAt: "1970-01-02T00:00:00.000Z"
		});
	});

	test("a completed upload misses nothing", () => {
		const status = uploadStatus(upload({ received: [], assetId: "d".repeat(24) }));
		assert.deepEqual(status.missingChunks, []);
		assert.equal(status.assetId, "d".repeat(24));
	});
});
