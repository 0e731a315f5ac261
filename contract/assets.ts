/** An avatar is shown to every signed-in user; an attachment only to the members of its conversation. */
export type AssetPurpose = "attachment" | "avatar";

/** What the owner of an upload sees. */
export interface Asset {
	id: string;
	name: string;
	size: number;
	mimeType: string;
	purpose: AssetPurpose;
	url: string;
	thumbnailUrl: string | null;
	width: number | null;
	height: number | null;
	createdAt: string;
}

/** What the server accepts, so a client can refuse a file before sending it (`GET /api/assets/limits`). */
export interface UploadLimits {
	maxBytes: number;
	chunkBytes: number;
}

/** The answer to starting a resumable upload: send `totalChunks` chunks of `chunkSize` bytes (the last one shorter) before `expiresAt`. */
export interface CreatedUpload {
	uploadId: string;
	chunkSize: number;
	totalChunks: number;
	expiresAt: string;
}

/** A resumable upload: which chunks have arrived. */
export interface UploadStatus {
	uploadId: string;
	name: string;
	size: number;
	chunkSize: number;
	totalChunks: number;
	receivedChunks: number[];
	missingChunks: number[];
	assetId: string | null;
	expiresAt: string;
}
