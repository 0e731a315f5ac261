import { ApiError } from './errors';
import { apiUrl, type AuthProvider } from './http';
import type { Asset, AssetPurpose } from '@scalable-chat/contract';

export interface UploadHandle {
	promise: Promise<Asset>;
	abort(): void;
}

/**
 * Upload one file with XMLHttpRequest, because fetch cannot report upload progress.
 * Retries once after a token refresh when the server answers 401.
 */
export function uploadAsset(
	file: File,
	auth: AuthProvider,
	onProgress: (fraction: number) => void,
	purpose: AssetPurpose = 'attachment'
): UploadHandle {
	let current: XMLHttpRequest | null = null;
	let aborted = false;

	const attempt = () =>
		new Promise<{ status: number; body: unknown }>((resolve, reject) => {
			const xhr = new XMLHttpRequest();
			current = xhr;
			xhr.open('POST', apiUrl('/assets/upload', purpose === 'avatar' ? { purpose } : undefined));
			const token = auth.accessToken();
			if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
			xhr.responseType = 'json';
			xhr.upload.onprogress = event => {
				if (event.lengthComputable) onProgress(event.loaded / event.total);
			};
			xhr.onload = () => resolve({ status: xhr.status, body: xhr.response });
			xhr.onerror = () => reject(new Error('Network error while uploading'));
			xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
			const form = new FormData();
			form.append('file', file, file.name);
			xhr.send(form);
		});

	const promise = (async () => {
		let result = await attempt();
		if (result.status === 401 && !aborted && (await auth.refresh())) {
			onProgress(0);
			result = await attempt();
		}
		if (result.status >= 200 && result.status < 300) {
			onProgress(1);
			return result.body as Asset;
		}
		const body = (result.body ?? {}) as Record<string, unknown>;
		if (result.status === 413 && !body.message) body.message = 'File is too large';
		if (result.status === 415 && !body.message) body.message = 'This file type is not allowed';
		throw new ApiError(result.status, body);
	})();

	return {
		promise,
		abort() {
			aborted = true;
			current?.abort();
		}
	};
}
