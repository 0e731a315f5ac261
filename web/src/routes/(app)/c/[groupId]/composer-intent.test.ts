import { describe, expect, it } from 'vitest';
import type { Message } from '@scalable-chat/contract';
import { composerIntents } from './composer-intent.svelte.ts';

describe('composer intents at sign-out', () => {
	it('a reply or an edit of the last user does not wait in the composer for the next', () => {
		composerIntents.reply({ id: 'm1', groupId: 'g1' } as Message);
		composerIntents.edit({ id: 'm2', groupId: 'g2' } as Message);
		composerIntents.clear();
		expect(composerIntents.get('g1')).toBeUndefined();
		expect(composerIntents.get('g2')).toBeUndefined();
	});
});
