import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MoleculerClientError, payloadTooLarge } from "../errors.ts";

/** A file received to local disk, measured and hashed on the way, not yet checked or stored. */
export interface StagedFile {
	path: string;
	size: number;
	sha256: string;
	/** The first `headBytes` bytes, for type sniffing. */
	head: Buffer;
}

export interface StageLimits {
	maxBytes: number;
	/** The error for a body past `maxBytes` (413 by default). */
	overLimit?: (maxBytes: number) => Error;
	/** How many of the first bytes to keep in `head`. */
	headBytes?: number;
}

export const tooLarge = (maxBytes: number) => payloadTooLarge(`The file is larger than the limit of ${maxBytes} bytes`);

export const tempPath = (dir: string, suffix = "") => path.join(dir, `${Date.now()}-${randomBytes(8).toString("hex")}${suffix}`);

/**
 * Streams `source` into a new file under `dir` without holding it in memory, stopping as soon as it
 * grows past `maxBytes` (413). On any failure the partial file is removed before this rejects.
 */
export async function stageStream(source: Readable, dir: string, { maxBytes, overLimit = tooLarge, headBytes = 0 }: StageLimits): Promise<StagedFile> {
	const file = tempPath(dir, ".part");
	const hash = createHash("sha256");
	const headParts: Buffer[] = [];
	let headLength = 0;
	let size = 0;
	const meter = new Transform({
		transform(chunk: Buffer, _enc, done) {
			size += chunk.length;
			if (size > maxBytes) return done(overLimit(maxBytes));
			if (headLength < headBytes) {
				const part = chunk.subarray(0, headBytes - headLength);
				headParts.push(Buffer.from(part));
				headLength += part.length;
			}
			hash.update(chunk);
			done(null, chunk);
		}
	});
	const sink = createWriteStream(file, { flags: "wx" });
	// The source is piped by hand, not handed to pipeline(): pipeline would destroy it with our error,
	// and moleculer-web answers as soon as its file stream errors, before the partial file is removed.
	const onSourceError = (err: Error) => meter.destroy(err);
	const onSourceClose = () => {
		if (!source.readableEnded) meter.destroy(Object.assign(new Error("source closed early"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
	};
	source.on("error", onSourceError);
	source.on("close", onSourceClose);
	source.pipe(meter);
	try {
		await pipeline(meter, sink);
	} catch (err) {
		source.unpipe(meter);
		if (!sink.closed) await once(sink, "close");
		await rm(file, { force: true });
		// Only now drain the rest, so that whatever answers the request (even busboy's own limit) finds nothing left on disk.
		source.resume();
		const code = (err as { code?: unknown }).code;
		// Also busboy's own limit (moleculer-web's PayloadTooLarge), with our message.
		if (code === 413) throw overLimit(maxBytes);
		if (err instanceof MoleculerClientError) throw err;
		if (code === "ERR_STREAM_PREMATURE_CLOSE" || code === "ECONNRESET" || code === "ABORT_ERR")
			throw new MoleculerClientError("The upload was interrupted", 400, "UPLOAD_INTERRUPTED");
		throw err;
	} finally {
		source.off("error", onSourceError);
		source.off("close", onSourceClose);
	}
	return { path: file, size, sha256: hash.digest("hex"), head: Buffer.concat(headParts) };
}

/** The folder where received files wait while they are checked (same file system as the stored files, so moves are renames). */
export class StagingArea {
	readonly dir: string;

	constructor(dir: string) {
		this.dir = dir;
	}

	async init(): Promise<void> {
		await mkdir(this.dir, { recursive: true });
	}

	receive(source: Readable, limits: StageLimits): Promise<StagedFile> {
		return stageStream(source, this.dir, limits);
	}

	/** A fresh name in the staging folder (for a file written beside a received one, such as its thumbnail). */
	tempPath(suffix = ""): string {
		return tempPath(this.dir, suffix);
	}

	async discard(file: string): Promise<void> {
		await rm(file, { force: true });
	}

	/** Removes files a crash left behind; returns how many. */
	async removeOlderThan(ageMs: number, now = Date.now()): Promise<number> {
		let removed = 0;
		for (const name of await readdir(this.dir).catch(() => [] as string[])) {
			const file = path.join(this.dir, name);
			const info = await stat(file).catch(() => null);
			if (info && now - info.mtimeMs > ageMs) {
				await rm(file, { force: true });
				removed++;
			}
		}
		return removed;
	}
}
