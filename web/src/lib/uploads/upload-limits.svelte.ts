import { assetsApi } from '#lib/api/client.ts';
import { formatBytes } from '#lib/format/format.ts';

/** The server's upload limit, asked once, so an over-size file is refused before any of it is sent. */
class UploadLimitsManager {
	maxBytes = $state<number | null>(null);
	#loading: Promise<void> | null = null;

	load(): Promise<void> {
		this.#loading ??= assetsApi.limits().then(
			limits => {
				this.maxBytes = limits.maxBytes;
			},
			() => {
				// Ask again next time; until then the server's 413 still says no.
				this.#loading = null;
			}
		);
		return this.#loading;
	}

	/** Why `file` cannot be sent, when it is too large for the limit (if known). */
	refusal(size: number, maxBytes = this.maxBytes): string | null {
		return maxBytes !== null && size > maxBytes ? tooLargeMessage(maxBytes) : null;
	}
}

export const tooLargeMessage = (maxBytes: number) => `Larger than the ${formatBytes(maxBytes)} limit`;

export const uploadLimits = new UploadLimitsManager();
