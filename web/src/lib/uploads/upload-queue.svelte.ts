import type { Asset, AssetPurpose } from '@scalable-chat/contract';
import { uploadAsset, type UploadHandle } from '#lib/api/upload.ts';
import { errorMessage } from '#lib/api/errors.ts';
import { session } from '#lib/stores/session-manager.svelte.ts';

export interface UploadItem {
	id: number;
	file: File;
	/** 0..1 */
	progress: number;
	state: 'uploading' | 'done' | 'failed';
	asset: Asset | null;
	error: string | null;
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
	}

	get busy(): boolean {
		return this.items.some(i => i.state === 'uploading');
	}

	get assets(): Asset[] {
		return this.items.flatMap(i => (i.state === 'done' && i.asset ? [i.asset] : []));
	}

	add(files: File[]): Promise<Asset | null>[] {
		return files.map(file => {
			const item: UploadItem = {
				id: nextId++,
				file,
				progress: 0,
				state: 'uploading',
				asset: null,
				error: null,
				previewUrl: file.type.startsWith('image/') ? URL.createObjectURL(file) : null
			};
			this.items.push(item);
			return this.#start(item.id);
		});
	}

	retry(id: number): void {
		const item = this.#find(id);
		if (!item) return;
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

	/** Forget finished uploads (after the message was sent). */
	clear(): void {
		for (const item of this.items) this.remove(item.id);
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
			const item = this.#find(id);
			if (item) {
				item.state = 'failed';
				item.error = errorMessage(error);
			}
			return null;
		} finally {
			this.#handles.delete(id);
		}
	}
}
