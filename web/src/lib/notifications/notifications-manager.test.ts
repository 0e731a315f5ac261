import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const STORAGE_KEY = 'chat.notifications';

const h = vi.hoisted(() => {
	const stored = new Map<string, string>();
	const tokenListeners = new Set<(token: string) => void>();
	const session = {
		userId: 'u1',
		epoch: 1,
		onAccessToken(listener: (token: string) => void) {
			tokenListeners.add(listener);
			return () => tokenListeners.delete(listener);
		},
		onEnd: () => () => undefined,
		/** A new access token: `restart` for a new sign-in of this tab (a password change), else a refresh. */
		newToken(restart: boolean) {
			if (restart) session.epoch++;
			for (const listener of tokenListeners) listener('token');
		}
	};
	const browserSubscription = {
		current: null as null | { endpoint: string; toJSON(): { keys: { p256dh: string; auth: string } } }
	};
	const subscribe = vi.fn(async (_body: unknown) => ({ id: 'sub1' }));
	// Web Push as the browser offers it, before the manager is made.
	Object.defineProperty(globalThis, 'window', { configurable: true, value: { PushManager: class {} } });
	Object.defineProperty(globalThis, 'navigator', {
		configurable: true,
		value: {
			serviceWorker: {
				getRegistration: async () => ({ pushManager: { getSubscription: async () => browserSubscription.current } }),
				addEventListener: () => undefined,
				removeEventListener: () => undefined
			}
		}
	});
	return { stored, session, browserSubscription, subscribe };
});

vi.mock('$app/navigation', () => ({ goto: async () => undefined }));
vi.mock('#lib/api/client.ts', () => ({
	pushApi: { subscribe: h.subscribe, key: async () => ({ publicKey: '' }), unsubscribe: async () => ({ id: '' }) }
}));
vi.mock('#lib/realtime/realtime.svelte.ts', () => ({ realtime: { on: () => () => undefined } }));
vi.mock('#lib/storage/browser-storage.ts', () => ({
	browserStorage: () => ({
		getItem: (key: string) => h.stored.get(key) ?? null,
		setItem: (key: string, value: string) => void h.stored.set(key, value)
	})
}));
vi.mock('#lib/stores/conversations-manager.svelte.ts', () => ({ conversations: { groups: [] } }));
vi.mock('#lib/stores/session-manager.svelte.ts', () => ({ session: h.session }));
vi.mock('#lib/stores/users-manager.svelte.ts', () => ({ users: {} }));
vi.mock('./chime.ts', () => ({ playChime: () => undefined }));

const ENDPOINT = 'https://fcm.googleapis.com/fcm/send/device-1';
const KEYS = { p256dh: 'p256dh-key', auth: 'auth-secret' };

h.stored.set(STORAGE_KEY, JSON.stringify({ browser: false, sound: false, push: { id: 'sub1', userId: 'u1' } }));
const { notifications } = await import('./notifications-manager.svelte.ts');

const settled = () => new Promise(resolve => setTimeout(resolve, 0));
const saved = () => JSON.parse(h.stored.get(STORAGE_KEY) ?? '{}') as { push: { id: string; userId: string } | null };

describe('this browser’s push subscription follows the sign-ins', () => {
	let detach: (() => void) | undefined;
	beforeEach(() => {
		h.subscribe.mockClear();
		h.browserSubscription.current = { endpoint: ENDPOINT, toJSON: () => ({ keys: KEYS }) };
	});
	afterEach(() => detach?.());

	it('registers again when the app starts signed in, and when a password change gives this tab a new session; not on a refresh', async () => {
		detach = notifications.attach();
		await settled();
		expect(h.subscribe.mock.calls).toEqual([[{ endpoint: ENDPOINT, keys: KEYS }]]);
		expect(notifications.push).toBe('on');

		h.session.newToken(false);
		await settled();
		expect(h.subscribe).toHaveBeenCalledTimes(1);

		// The server ended the old subscription with the old sessions: the new one has a new id, kept for turning it off.
		h.subscribe.mockResolvedValueOnce({ id: 'sub2' });
		h.session.newToken(true);
		await settled();
		expect(h.subscribe).toHaveBeenCalledTimes(2);
		expect(h.subscribe.mock.calls[1]).toEqual([{ endpoint: ENDPOINT, keys: KEYS }]);
		expect(saved().push).toEqual({ id: 'sub2', userId: 'u1' });
	});

	it('a browser that dropped its subscription turns push off instead', async () => {
		h.browserSubscription.current = null;
		h.session.epoch++;
		detach = notifications.attach();
		await settled();
		expect(h.subscribe).not.toHaveBeenCalled();
		expect(notifications.push).toBe('off');
		expect(saved().push).toBeNull();

		// Off on this device: a new session registers nothing.
		h.browserSubscription.current = { endpoint: ENDPOINT, toJSON: () => ({ keys: KEYS }) };
		h.session.newToken(true);
		await settled();
		expect(h.subscribe).not.toHaveBeenCalled();
	});
});
