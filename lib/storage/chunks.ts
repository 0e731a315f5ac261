import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { ID_PATTERN } from "../ids.ts";
import { stageStream } from "./staging.ts";

/**
 * The chunks of resumable uploads on this node's disk: `<dir>/<uploadId>/<index>`. A chunk is received
 * beside its final name and renamed into place only once complete, so a chunk sent again simply
 * replaces the first copy and a half-received one is never mistaken for a chunk.
 */
export class ChunkStore {
	private readonly dir: string;

	constructor(dir: string) {
		this.dir = dir;
	}

	private dirOf(uploadId: string): string {
		if (!ID_PATTERN.test(uploadId)) throw new Error(`not an upload id: ${uploadId}`);
		return path.join(this.dir, uploadId);
	}

	async init(): Promise<void> {
		await mkdir(this.dir, { recursive: true });
	}

	/**
	 * Receives chunk `index`, refusing a body past `length` bytes with `overLimit` and keeping nothing of it.
	 * Returns the size received: the chunk is kept only when that is exactly `length`.
	 */
	async write(uploadId: string, index: number, source: Readable, length: number, overLimit: (length: number) => Error): Promise<number> {
		const dir = this.dirOf(uploadId);
		await mkdir(dir, { recursive: true });
		const staged = await stageStream(source, dir, { maxBytes: length, overLimit });
		if (staged.size !== length) await rm(staged.path, { force: true });
		else await rename(staged.path, path.join(dir, String(index)));
		return staged.size;
	}

	/** The indexes of the chunks kept for an upload, in order. */
	async received(uploadId: string): Promise<number[]> {
		const names = await readdir(this.dirOf(uploadId)).catch(() => [] as string[]);
		return names
			.filter(name => /^\d+$/.test(name))
			.map(Number)
			.sort((a, b) => a - b);
	}

	/** Chunks 0 to `count - 1` one after the other, read as they are consumed. */
	concatenated(uploadId: string, count: number): Readable {
		const dir = this.dirOf(uploadId);
		async function* chunks() {
			for (let i = 0; i < count; i++) yield* createReadStream(path.join(dir, String(i)));
		}
		return Readable.from(chunks());
	}

	async remove(uploadId: string): Promise<void> {
		await rm(this.dirOf(uploadId), { recursive: true, force: true });
	}

	/** Uploads with a chunk folder untouched for `idleMs` (the caller decides whether anything still owns them). */
	async idleUploadIds(idleMs: number, now = Date.now()): Promise<string[]> {
		const idle: string[] = [];
		for (const name of await readdir(this.dir).catch(() => [] as string[])) {
			if (!ID_PATTERN.test(name)) continue;
			const info = await stat(path.join(this.dir, name)).catch(() => null);
			if (info && now - info.mtimeMs >= idleMs) idle.push(name);
		}
		return idle;
	}
}
