import type { Asset, AssetPurpose } from '@scalable-chat/contract';
import { uploadAsset, type UploadHandle } from '#lib/api/upload.ts';
import { ApiError, errorMessage } from '#lib/api/errors.ts';
import { session } from '#lib/stores/session-manager.svelte.ts';
import { tooLargeMessage, uploadLimits } from './upload-limits.svelte';

export interface UploadItem {
	id: number;
	file: File;
	/** 0..1 */
	progress: number;
	state: 'uploading' | 'done' | 'failed';
	asset: Asset | null;
	error: string | null;
	/** Whether trying again could help (not for a file over the size limit). */
	retryable: boolean;
	/** Local object URL for an image preview while it uploads. */
	previewUrl: string | null;
}

let nextId = 1;

/** Files being attached to one draft: each uploads at once and reports its own progress. */
export class UploadQueue {
	items = $state<UploadItem[]>([]);
	// eslint-disable-next-line svelte/prefer-svelte-reactivity -- upload handles, never rendered
	#handles = new Map<number, UploadHandle>();
	readonly purpose: AssetPurpose;

	constructor(purpose: AssetPurpose = 'attachment') {
		this.purpose = purpose;
		void uploadLimits.load();
	}

	get busy(): boolean {
		return this.items.some(i => i.state === 'uploading');
	}

	get assets(): Asset[] {
		return this.items.flatMap(i => (i.state === 'done' && i.asset ? [i.asset] : []));
	}

	/** Start uploading each file; one over the server's size limit is refused here, before a byte is sent. */
	add(files: File[]): Promise<Asset | null>[] {
		return files.map(file => {
			const refusal = uploadLimits.refusal(file.size);
			const item: UploadItem = {
				id: nextId++,
				file,
				progress: 0,
				state: refusal ? 'failed' : 'uploading',
				asset: null,
				error: refusal,
				retryable: !refusal,
				previewUrl: file.type.startsWith('image/') ? URL.createObjectURL(file) : null
			};
			this.items.push(item);
			return refusal ? Promise.resolve(null) : this.#start(item.id);
		});
	}

	retry(id: number): void {
		const item = this.#find(id);
		if (!item?.retryable) return;
		item.state = 'uploading';
		item.error = null;
		item.progress = 0;
		void this.#start(id);
	}

	remove(id: number): void {
		this.#handles.get(id)?.abort();
		this.#handles.delete(id);
		const item = this.#find(id);
		if (item?.previewUrl) URL.revokeObjectURL(item.previewUrl);
		this.items = this.items.filter(i => i.id !== id);
	}

	clear(): void {
		for (const item of this.items) this.remove(item.id);
	}

	/** Upload the first image among `files` in place of anything before it (an avatar, a group picture): the asset, or why not. */
	async image(files: File[]): Promise<Asset | { error: string }> {
		const file = files.find(f => f.type.startsWith('image/'));
		if (!file) return { error: 'Choose an image file' };
		this.clear();
		const asset = await this.add([file])[0];
		return asset ?? { error: this.items.at(-1)?.error ?? 'Upload failed' };
	}

	/** Forget the uploads that went out with a message; failed ones stay for the user to retry or remove. */
	clearSent(): void {
		for (const item of this.items) if (item.state === 'done') this.remove(item.id);
	}

	#find(id: number): UploadItem | undefined {
		return this.items.find(i => i.id === id);
	}

	async #start(id: number): Promise<Asset | null> {
		const file = this.#find(id)?.file;
		if (!file) return null;
		const handle = uploadAsset(
			file,
			session,
			p => {
				const item = this.#find(id);
				if (item) item.progress = p;
			},
			this.purpose
		);
		this.#handles.set(id, handle);
		try {
			const asset = await handle.promise;
			const item = this.#find(id);
			if (item) {
				item.asset = asset;
				item.state = 'done';
			}
			return asset;
		} catch (error) {
			// Over the storage quota is no size problem of this file: the server's message says how much is used.
			const overQuota = error instanceof ApiError && error.type === 'QUOTA_EXCEEDED';
			const tooLarge = error instanceof ApiError && error.status === 413 && !overQuota;
			if (tooLarge) await uploadLimits.load();
			const item = this.#find(id);
			if (item) {
				item.state = 'failed';
				item.retryable = !tooLarge && !overQuota;
				item.error =
					tooLarge && uploadLimits.maxBytes !== null ? tooLargeMessage(uploadLimits.maxBytes) : errorMessage(error);
			}
			return null;
		} finally {
			this.#handles.delete(id);
		}
	}
}
