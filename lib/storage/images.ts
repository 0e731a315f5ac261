import sharp from "sharp";

export const THUMBNAIL_MAX = 320;
export const AVATAR_SIZE = 256;
export const THUMBNAIL_TYPE = "image/webp";

// Refuse decompression bombs long before they reach memory (default is ~268 megapixels).
const LIMIT_INPUT_PIXELS = 80_000_000;

export interface ImageInfo {
	width: number;
	height: number;
}

/** Displayed dimensions (EXIF rotation applied), or null when the image cannot be decoded. */
export async function readImageInfo(file: string): Promise<ImageInfo | null> {
	try {
		const meta = await sharp(file, { limitInputPixels: LIMIT_INPUT_PIXELS }).metadata();
		const { width, height } = meta.autoOrient ?? meta;
		return width && height ? { width, height } : null;
	} catch {
		return null;
	}
}

/**
 * A small WebP preview: at most THUMBNAIL_MAX on its longer side, or for avatars an
 * AVATAR_SIZE square cropped around the most interesting part. Null when the image cannot be decoded.
 */
export async function writeThumbnail(source: string, target: string, avatar: boolean): Promise<{ size: number } | null> {
	try {
		const image = sharp(source, { limitInputPixels: LIMIT_INPUT_PIXELS }).rotate();
		const resized = avatar
			? image.resize(AVATAR_SIZE, AVATAR_SIZE, { fit: "cover", position: sharp.strategy.attention })
			: image.resize(THUMBNAIL_MAX, THUMBNAIL_MAX, { fit: "inside", withoutEnlargement: true });
		const info = await resized.webp({ quality: 80 }).toFile(target);
		return { size: info.size };
	} catch {
		return null;
	}
}
