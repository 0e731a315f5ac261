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
