import { ApiError } from '#lib/api/errors.ts';
import { browserStorage, type KeyValueStorage } from '#lib/storage/browser-storage.ts';

const PENDING_LOGOUTS_KEY = 'chat.pendingLogouts';
/** Logouts waiting for the server at most (a browser that never gets through does not collect them forever). */
const MAX_PENDING = 20;

/**
 * Refresh tokens of sessions logged out while the server could not be reached. The session left the browser
 * at once; its token waits here, never used to sign in, until the server has revoked it (otherwise a copy of
 * it taken before the logout would stay good until it expires).
 */
export class PendingLogouts {
	readonly #storage: () => KeyValueStorage | null;
	/** What the storage refused to keep (disabled, full): tried while this page is open. */
	#unsaved: string[] = [];

	constructor(storage: () => KeyValueStorage | null) {
		this.#storage = storage;
	}

	tokens(): string[] {
		let saved: unknown = [];
		try {
			saved = JSON.parse(this.#storage()?.getItem(PENDING_LOGOUTS_KEY) ?? '[]');
		} catch {
			// Unreadable: as if empty.
		}
		const stored = Array.isArray(saved) ? saved.filter((t): t is string => typeof t === 'string') : [];
		return [...new Set([...stored, ...this.#unsaved])];
	}

	add(refreshToken: string): void {
		this.#write([...this.tokens().filter(t => t !== refreshToken), refreshToken].slice(-MAX_PENDING));
	}

	/**
	 * Ask the server to revoke each waiting token. One it answered for goes (a 4xx too: unknown, expired or
	 * malformed, it never will take it); one it could not be asked about stays. Resolves how many stay.
	 */
	async revoke(send: (refreshToken: string) => Promise<unknown>): Promise<number> {
		for (const token of this.tokens()) {
			try {
				await send(token);
			} catch (error) {
				if (!answeredForGood(error)) continue;
			}
			this.#write(this.tokens().filter(t => t !== token));
		}
		return this.tokens().length;
	}

	#write(tokens: string[]): void {
		this.#unsaved = [];
		try {
			const storage = this.#storage();
			if (!storage) throw new Error('no storage');
			if (tokens.length) storage.setItem(PENDING_LOGOUTS_KEY, JSON.stringify(tokens));
			else storage.removeItem(PENDING_LOGOUTS_KEY);
		} catch {
			this.#unsaved = tokens;
		}
	}
}

/** A refusal that asking again will not change: not an outage, a 5xx, a timeout or a rate limit. */
function answeredForGood(error: unknown): boolean {
	return error instanceof ApiError && error.status >= 400 && error.status < 500 && ![408, 429].includes(error.status);
}

export const pendingLogouts = new PendingLogouts(browserStorage);
