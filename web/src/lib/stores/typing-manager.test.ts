import { afterEach, describe, expect, it, vi } from 'vitest';

const emitted = vi.hoisted(() => [] as string[]);
vi.mock('#lib/realtime/realtime.svelte.ts', () => ({
	realtime: {
		on: () => () => undefined,
		emit: async (event: string) => void emitted.push(event)
	}
}));

const { typing } = await import('./typing-manager.svelte.ts');

afterEach(() => vi.useRealTimers());

describe('typing at sign-out', () => {
	it('the last user’s typing timers stop with the session', () => {
		vi.useFakeTimers();
		const detach = typing.attach();
		typing.typed('g1');
		expect(emitted).toEqual(['typing.start']);
		detach();
		vi.advanceTimersByTime(10_000);
		expect(emitted).toEqual(['typing.start']);
		// The next user's first keystroke announces itself again.
		const next = typing.attach();
		typing.typed('g1');
		expect(emitted).toEqual(['typing.start', 'typing.start']);
		next();
	});
});
