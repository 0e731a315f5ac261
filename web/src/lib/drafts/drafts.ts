import { browserStorage, type KeyValueStorage } from '#lib/storage/browser-storage.ts';

const keyOf = (userId: string) => `chat.drafts.${userId}`;

/**
 * What the user typed but did not send, per conversation, across conversation switches and reloads.
 * One entry per user, so people sharing a browser never see each other's drafts; it goes at logout.
 */
export class DraftStore {
	readonly #storage: () => KeyValueStorage | null;

	constructor(storage: () => KeyValueStorage | null) {
		this.#storage = storage;
	}

	get(userId: string, groupId: string): string {
		return this.#read(userId)[groupId] ?? '';
	}

	set(userId: string, groupId: string, text: string): void {
		const drafts = this.#read(userId);
		if (text.trim()) drafts[groupId] = text;
		else delete drafts[groupId];
		this.#write(userId, drafts);
	}

	forget(userId: string): void {
		try {
			this.#storage()?.removeItem(keyOf(userId));
		} catch {
			// Storage disabled: there was nothing to forget.
		}
	}

	#read(userId: string): Record<string, string> {
		try {
			const parsed: unknown = JSON.parse(this.#storage()?.getItem(keyOf(userId)) ?? '{}');
			return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
		} catch {
			return {};
		}
	}

	#write(userId: string, drafts: Record<string, string>): void {
		try {
			const storage = this.#storage();
			if (Object.keys(drafts).length) storage?.setItem(keyOf(userId), JSON.stringify(drafts));
			else storage?.removeItem(keyOf(userId));
		} catch {
			// Full or disabled storage: the draft only lives until the next switch.
		}
	}
}

export const drafts = new DraftStore(browserStorage);
