import type { SearchHit } from '@scalable-chat/contract';
import { searchApi } from '#lib/api/client.ts';
import { ApiError, errorMessage } from '#lib/api/errors.ts';
import { users } from '#lib/stores/users-manager.svelte.ts';

const PAGE = 20;
/** Typing pauses this long before a search goes out. */
const DEBOUNCE_MS = 250;

/** What a failed search tells the reader, in plain words. */
export function searchProblem(error: unknown): string {
	if (error instanceof ApiError) {
		if (error.status === 429) return 'Too many searches in a row. Wait a moment and try again.';
		if (error.status === 404) return 'You are no longer in that conversation.';
		if (error.status === 422) {
			const field = error.fieldErrors;
			if (field.q?.includes('word')) return 'Type at least one word (letters or digits).';
			if (field.q) return 'That search is too long (256 characters at most).';
			return 'That search could not be run. Try again.';
		}
	}
	return `Search failed: ${errorMessage(error)}`;
}

/**
 * Message search: the panel's query, scope (every conversation, or one) and results. Only the latest
 * request counts: typing on aborts the one in flight, so a slow answer never replaces a newer one.
 */
class SearchManager {
	isOpen = $state(false);
	query = $state('');
	/** Only this conversation; null: all of them. */
	scope = $state<string | null>(null);
	items = $state<SearchHit[]>([]);
	next = $state<string | null>(null);
	status = $state<'idle' | 'loading' | 'done' | 'error'>('idle');
	problem = $state<string | null>(null);
	#inFlight: AbortController | null = null;
	#timer: ReturnType<typeof setTimeout> | undefined;

	open(scope: string | null): void {
		this.isOpen = true;
		if (scope !== this.scope) {
			this.scope = scope;
			this.#runSoon(0);
		}
	}

	close(): void {
		this.isOpen = false;
		clearTimeout(this.#timer);
		this.#inFlight?.abort();
	}

	setQuery(query: string): void {
		this.query = query;
		this.#runSoon(DEBOUNCE_MS);
	}

	setScope(scope: string | null): void {
		this.scope = scope;
		this.#runSoon(0);
	}

	/** Signed out: nothing of this user's searches stays for the next one, and an answer on its way is dropped. */
	reset(): void {
		this.close();
		this.#inFlight = null;
		this.query = '';
		this.scope = null;
		this.items = [];
		this.next = null;
		this.status = 'idle';
		this.problem = null;
	}

	async loadMore(): Promise<void> {
		if (!this.next || this.status === 'loading') return;
		await this.#fetch(this.next);
	}

	#runSoon(delay: number): void {
		clearTimeout(this.#timer);
		this.#timer = setTimeout(() => void this.#fetch(null), delay);
	}

	async #fetch(cursor: string | null): Promise<void> {
		this.#inFlight?.abort();
		const q = this.query.trim();
		if (!q) {
			this.items = [];
			this.next = null;
			this.status = 'idle';
			this.problem = null;
			return;
		}
		const controller = new AbortController();
		this.#inFlight = controller;
		this.status = 'loading';
		try {
			const page = await searchApi.messages(
				{ q, groupId: this.scope ?? undefined, limit: PAGE, cursor: cursor ?? undefined },
				controller.signal
			);
			if (controller.signal.aborted) return;
			users.ensure(page.items.map(hit => hit.message.senderId));
			this.items = cursor ? [...this.items, ...page.items] : page.items;
			this.next = page.next;
			this.status = 'done';
			this.problem = null;
		} catch (error) {
			if (controller.signal.aborted) return;
			this.status = 'error';
			this.problem = searchProblem(error);
		}
	}
}

export const search = new SearchManager();
