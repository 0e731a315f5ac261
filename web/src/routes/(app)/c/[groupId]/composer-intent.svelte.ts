import type { Message } from '@scalable-chat/contract';
import { SvelteMap } from 'svelte/reactivity';

/** What the composer of a conversation is doing besides writing a new message. */
export type ComposerIntent = { kind: 'reply'; message: Message } | { kind: 'edit'; message: Message };

/**
 * The message menu and the composer meet here: "Reply" and "Edit" set the intent of that conversation's
 * composer, which shows it (the quote, the "Editing" bar) until it sends or the user cancels.
 */
class ComposerIntents {
	#byGroup = new SvelteMap<string, ComposerIntent>();
	/** Bumped on every new intent, so the composer takes focus even when it was already set. */
	asked = $state(0);

	get(groupId: string): ComposerIntent | undefined {
		return this.#byGroup.get(groupId);
	}

	reply(message: Message): void {
		this.#byGroup.set(message.groupId, { kind: 'reply', message });
		this.asked++;
	}

	edit(message: Message): void {
		this.#byGroup.set(message.groupId, { kind: 'edit', message });
		this.asked++;
	}

	cancel(groupId: string): void {
		this.#byGroup.delete(groupId);
	}

	/** Signed out: a reply or edit of this user's does not wait for the next one. */
	clear(): void {
		this.#byGroup.clear();
	}
}

export const composerIntents = new ComposerIntents();
