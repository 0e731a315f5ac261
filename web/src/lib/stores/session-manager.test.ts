// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AuthResult, TokenPair, User } from '@scalable-chat/contract';

const A: User = { id: 'user-A', username: 'alice', displayName: 'Alice', avatarUrl: null, statusText: '' };
const B: User = { id: 'user-B', username: 'bob', displayName: 'Bob', avatarUrl: null, statusText: '' };

// The auth server as far as the session talks to it: the refresh tokens it takes (rotating them), and a gate that
// holds its answers back (a slow server: the work is done, the answer is still on its way).
const server = vi.hoisted(() => {
	const state = {
		people: {} as Record<string, User>,
		live: new Map<string, User>(),
		calls: [] as string[],
		gate: null as Promise<void> | null,
		down: false,
		/** The next password change finds the access token expired (401). */
		accessExpired: false,
		count: 0,
		/** The refresh token of the latest rotation. */
		rotated: '',
		signIn(user: User): AuthResult {
			const n = ++state.count;
			const refreshToken = `rt-${user.username}-${n}`;
			state.live.set(refreshToken, user);
			return { user, accessToken: `at-${user.username}-${n}`, refreshToken, expiresIn: 900 };
		}
	};
	return state;
});

vi.mock('#lib/api/client.ts', () => {
	const answer = async <T>(work: () => T): Promise<T> => {
		if (server.down) throw new TypeError('Failed to fetch');
		const result = (() => {
			try {
				return { value: work() };
			} catch (error) {
				return { error };
			}
		})();
		if (server.gate) await server.gate;
		if (!('error' in result)) return result.value;
		// The error class of the tab's own module instance (each test's tab imports its own).
		const { ApiError } = await import('#lib/api/errors.ts');
		throw result.error === REFUSED ? new ApiError(401, { code: 401, type: 'INVALID_TOKEN' }) : result.error;
	};
	const REFUSED = Symbol('refused');
	return {
		authApi: {
			login: ({ username }: { username: string }) => answer(() => server.signIn(server.people[username])),
			refresh: (refreshToken: string) => {
				server.calls.push(`refresh ${refreshToken}`);
				return answer((): TokenPair => {
					const user = server.live.get(refreshToken);
					if (!user) throw REFUSED;
					server.live.delete(refreshToken);
					const { accessToken, refreshToken: next, expiresIn } = server.signIn(user);
					server.rotated = next;
					return { accessToken, refreshToken: next, expiresIn };
				});
			},
			logout: (refreshToken: string) => {
				server.calls.push(`logout ${refreshToken}`);
				return answer(() => ({ ok: server.live.delete(refreshToken) }));
			},
			changePassword: (_body: unknown, refreshOn401 = true) => {
				server.calls.push(`password refreshOn401=${refreshOn401}`);
				return answer(() => {
					if (server.accessExpired) {
						server.accessExpired = false;
						throw REFUSED;
					}
					return server.signIn(A);
				});
			}
		},
		usersApi: { profile: () => answer(() => A) }
	};
});
const outbox = vi.hoisted(() => ({ purge: vi.fn(async (_userId: string) => undefined) }));
vi.mock('#lib/outbox/outbox-manager.svelte.ts', () => ({ outbox }));

let session: (typeof import('./session-manager.svelte.ts'))['session'];

beforeEach(async () => {
	localStorage.clear();
	Object.assign(server, {
		people: { alice: A, bob: B },
		live: new Map(),
		calls: [],
		gate: null,
		down: false,
		accessExpired: false
	});
	outbox.purge.mockClear();
	// A fresh tab: its own session.
	vi.resetModules();
	({ session } = await import('./session-manager.svelte.ts'));
});

afterEach(() => {
	vi.useRealTimers();
	vi.unstubAllGlobals();
	// The tabs of earlier tests stop listening: they are signed out like any tab whose sign-in left the browser.
	localStorage.clear();
	window.dispatchEvent(new StorageEvent('storage', { key: null }));
});

async function signedIn(username = 'alice'): Promise<void> {
	await session.init();
	await session.login(username, 'pw');
}

const stored = () => ({
	refreshToken: localStorage.getItem('chat.refreshToken'),
	userId: (JSON.parse(localStorage.getItem('chat.user') ?? 'null') as User | null)?.id ?? null
});

/** Another tab of this browser: what its sign-out and sign-in write (this tab hears of it only if told). */
const otherTab = {
	signsOut() {
		localStorage.removeItem('chat.refreshToken');
		localStorage.removeItem('chat.user');
	},
	signsIn(user: User): AuthResult {
		const result = server.signIn(user);
		localStorage.setItem('chat.user', JSON.stringify(user));
		localStorage.setItem('chat.refreshToken', result.refreshToken);
		return result;
	},
	tells(key: string | null = 'chat.refreshToken') {
		window.dispatchEvent(new StorageEvent('storage', { key }));
	}
};

/** The server's answers wait until `release`. */
function hold(): () => void {
	let release = () => undefined as void;
	server.gate = new Promise<void>(resolve => (release = resolve));
	return () => {
		server.gate = null;
		release();
	};
}

/** Start a request whose answer the server holds back until `release`; later ones are answered at once. */
function held<T>(start: () => T): [T, () => void] {
	const release = hold();
	const started = start();
	server.gate = null;
	return [started, release];
}

describe('a tab never goes on with another user’s sign-in', () => {
	it('told that its sign-in ended, it finds another user’s token stored: it signs out and leaves that one alone', async () => {
		await signedIn();
		localStorage.setItem('chat.drafts.user-A', '{"g1":"half a reply"}');
		localStorage.setItem('chat.drafts.user-B', '{"g2":"Bob’s draft"}');
		// Meanwhile (this tab missed it: frozen, or its socket down) A signed out in another tab and B signed in there.
		otherTab.signsOut();
		const bob = otherTab.signsIn(B);

		await session.revoked('You signed out in another tab.');

		expect(session.status).toBe('anonymous');
		expect(session.accessToken()).toBeNull();
		expect(session.endedReason).toBe('You signed out in another tab.');
		expect(server.calls).not.toContain(`refresh ${bob.refreshToken}`);
		expect(stored()).toEqual({ refreshToken: bob.refreshToken, userId: B.id });
		// What A left in the browser goes; B's stays.
		expect(localStorage.getItem('chat.drafts.user-A')).toBeNull();
		expect(localStorage.getItem('chat.drafts.user-B')).not.toBeNull();
		expect(outbox.purge.mock.calls).toEqual([[A.id]]);
	});

	it('told that its sign-in ended, it goes on with a newer one of the same user (a password change in another tab)', async () => {
		await signedIn();
		const renewed = otherTab.signsIn(A);
		await session.revoked('Your password was changed.');
		expect(session.status).toBe('authenticated');
		expect(server.calls).toContain(`refresh ${renewed.refreshToken}`);
		expect(outbox.purge).not.toHaveBeenCalled();
	});

	it('its scheduled refresh does not take another user’s token', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
		await signedIn();
		otherTab.signsOut();
		const bob = otherTab.signsIn(B);
		await vi.advanceTimersByTimeAsync(841_000);
		expect(session.status).toBe('anonymous');
		expect(session.endedReason).toBe('Someone else signed in on this browser.');
		expect(server.calls).not.toContain(`refresh ${bob.refreshToken}`);
		expect(stored()).toEqual({ refreshToken: bob.refreshToken, userId: B.id });
	});

	it('after a refusal it retries with a newer stored token only when that one is its user’s', async () => {
		await signedIn();
		const mine = localStorage.getItem('chat.refreshToken')!;
		server.live.delete(mine);
		// The refusal comes after another tab signed out A and signed in B.
		const [refreshing, release] = held(() => session.refresh());
		otherTab.signsOut();
		const bob = otherTab.signsIn(B);
		release();
		expect(await refreshing).toBe(false);
		expect(session.status).toBe('anonymous');
		expect(server.calls).toEqual([`refresh ${mine}`]);
		expect(stored()).toEqual({ refreshToken: bob.refreshToken, userId: B.id });
	});

	it('hears another tab’s sign-out at once, and another user’s sign-in; not its own user’s refresh', async () => {
		await signedIn();
		otherTab.signsIn(A);
		otherTab.tells();
		expect(session.status).toBe('authenticated');

		otherTab.signsOut();
		otherTab.tells();
		expect(session.status).toBe('anonymous');
		expect(session.endedReason).toBeNull();
	});

	it('hearing that another user signed in, it signs out with the reason and keeps their sign-in', async () => {
		await signedIn();
		otherTab.signsOut();
		const bob = otherTab.signsIn(B);
		otherTab.tells('chat.user');
		expect(session.status).toBe('anonymous');
		expect(session.endedReason).toBe('Someone else signed in on this browser.');
		expect(stored()).toEqual({ refreshToken: bob.refreshToken, userId: B.id });
		expect(outbox.purge.mock.calls).toEqual([[A.id]]);
	});

	it('a logout in a tab that missed another user’s sign-in signs out only this tab', async () => {
		await signedIn();
		otherTab.signsOut();
		const bob = otherTab.signsIn(B);
		await session.logout();
		expect(session.status).toBe('anonymous');
		expect(stored()).toEqual({ refreshToken: bob.refreshToken, userId: B.id });
		expect(server.calls).not.toContain(`logout ${bob.refreshToken}`);
		expect(localStorage.getItem('chat.pendingLogouts')).toBeNull();
	});

	it('a profile update from a tab that missed another user’s sign-in does not take over their stored profile', async () => {
		await signedIn();
		otherTab.signsOut();
		otherTab.signsIn(B);
		session.setUser({ ...A, displayName: 'Alice 2' });
		expect(stored().userId).toBe(B.id);
	});

	it('a logout the server missed goes out right after the next sign-in, not at the next retry', async () => {
		localStorage.setItem('chat.pendingLogouts', JSON.stringify(['rt-earlier']));
		server.down = true;
		await session.init();
		expect(server.calls).toEqual(['logout rt-earlier']);
		server.down = false;
		await session.login('alice', 'pw');
		await vi.waitFor(() => expect(server.calls).toEqual(['logout rt-earlier', 'logout rt-earlier']));
		expect(localStorage.getItem('chat.pendingLogouts')).toBeNull();
	});
});

describe('an answer for a sign-in that is over is dropped', () => {
	it('a refresh on its way while the user signs out and someone else signs in', async () => {
		await signedIn();
		const [refreshing, release] = held(() => session.refresh());
		const alicesFresh = server.rotated;
		await session.logout();
		await session.login('bob', 'pw');
		release();
		expect(await refreshing).toBe(false);
		expect(session.user?.id).toBe(B.id);
		expect(session.accessToken()).toMatch(/^at-bob-/);
		expect(stored().refreshToken).toMatch(/^rt-bob-/);
		// The answer's token is a live one of Alice's ended sign-in: the server is told.
		await vi.waitFor(() => expect(server.calls).toContain(`logout ${alicesFresh}`));
	});

	it('another tab signs out while this tab’s refresh is on its way: this tab ends too', async () => {
		await signedIn();
		const [refreshing, release] = held(() => session.refresh());
		const fresh = server.rotated;
		otherTab.signsOut();
		release();
		expect(await refreshing).toBe(false);
		expect(session.status).toBe('anonymous');
		expect(stored()).toEqual({ refreshToken: null, userId: null });
		await vi.waitFor(() => expect(server.calls).toContain(`logout ${fresh}`));
	});

	it('another tab signs the same user in anew meanwhile: the answer is dropped and this tab goes on with the new one', async () => {
		await signedIn();
		const first = stored().refreshToken;
		const [refreshing, release] = held(() => session.refresh());
		const dropped = server.rotated;
		const again = otherTab.signsIn(A);
		release();
		expect(await refreshing).toBe(true);
		expect(session.status).toBe('authenticated');
		expect(server.calls.filter(c => c.startsWith('refresh'))).toEqual([
			`refresh ${first}`,
			`refresh ${again.refreshToken}`
		]);
		expect(stored().refreshToken).toBe(server.rotated);
		await vi.waitFor(() => expect(server.calls).toContain(`logout ${dropped}`));
		expect(server.calls).not.toContain(`logout ${server.rotated}`);
	});

	it('a refresh waiting for this tab’s password change goes on in the new session', async () => {
		// navigator.locks, as browsers have it: one holder at a time, in order.
		let tail: Promise<unknown> = Promise.resolve();
		const request = (_name: string, task: () => Promise<unknown>) => {
			const run = tail.then(task);
			tail = run.catch(() => undefined);
			return run;
		};
		vi.stubGlobal('navigator', { locks: { request } });
		await signedIn();
		const release = hold();
		const changing = session.changePassword('old', 'new');
		const refreshing = session.refresh();
		release();
		await changing;
		expect(await refreshing).toBe(true);
		expect(session.status).toBe('authenticated');
		expect(stored().refreshToken).toBe(server.rotated);
		expect(server.calls.filter(c => c.startsWith('logout'))).toEqual([]);
	});
});

describe('what the browser keeps of a user goes with every end of their sign-in', () => {
	it('a reload whose sign-in ended while the browser was closed forgets their drafts, offline copy and outbox', async () => {
		localStorage.setItem('chat.refreshToken', 'rt-revoked');
		localStorage.setItem('chat.user', JSON.stringify(A));
		localStorage.setItem('chat.drafts.user-A', '{"g1":"half a reply"}');
		localStorage.setItem('chat.offline.user-A', '{"version":1}');
		await session.init();
		expect(session.status).toBe('anonymous');
		expect(localStorage.getItem('chat.drafts.user-A')).toBeNull();
		expect(localStorage.getItem('chat.offline.user-A')).toBeNull();
		expect(outbox.purge.mock.calls).toEqual([[A.id]]);
	});

	it('a logout forgets them too', async () => {
		await signedIn();
		localStorage.setItem('chat.offline.user-A', '{"version":1}');
		await session.logout();
		expect(localStorage.getItem('chat.offline.user-A')).toBeNull();
		expect(outbox.purge.mock.calls).toEqual([[A.id]]);
	});
});

/** navigator.locks as browsers have it: one holder of a name at a time, not re-entrant. */
function stubLocks(): void {
	const tails = new Map<string, Promise<unknown>>();
	const locks = {
		request(name: string, task: () => Promise<unknown>) {
			const run = (tails.get(name) ?? Promise.resolve()).then(task);
			tails.set(
				name,
				run.catch(() => undefined)
			);
			return run;
		}
	};
	vi.stubGlobal('navigator', Object.assign(Object.create(navigator), { locks }));
}

describe('the reason other tabs show', () => {
	it('a logout in another tab reaches this one through storage, with the reason, even without its socket', async () => {
		await signedIn();
		// What the other tab's logout() writes, in its order.
		localStorage.setItem('chat.sessionEnded', 'You signed out in another tab.');
		otherTab.signsOut();
		otherTab.tells();
		expect(session.status).toBe('anonymous');
		expect(session.endedReason).toBe('You signed out in another tab.');
	});

	it('this tab’s own logout leaves the reason for the others, and a new sign-in clears it', async () => {
		await signedIn();
		await session.logout();
		expect(localStorage.getItem('chat.sessionEnded')).toBe('You signed out in another tab.');
		expect(session.endedReason).toBeNull();
		await session.login('alice', 'pw');
		expect(localStorage.getItem('chat.sessionEnded')).toBeNull();
	});
});

describe('refreshes and the refresh lock', () => {
	it('a password change whose access token expired meanwhile refreshes once out of the lock and goes through', async () => {
		stubLocks();
		await signedIn();
		server.accessExpired = true;
		await session.changePassword('pw', 'a new one');
		expect(session.status).toBe('authenticated');
		expect(server.calls.filter(c => c.startsWith('password') || c.startsWith('refresh'))).toEqual([
			'password refreshOn401=false',
			expect.stringMatching(/^refresh /),
			'password refreshOn401=false'
		]);
	});

	it('a refresh that got no answer is tried again within seconds, not half a minute', async () => {
		vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
		await signedIn();
		server.down = true;
		expect(await session.refresh()).toBe(false);
		expect(session.status).toBe('authenticated');
		server.down = false;
		const before = server.calls.length;
		await vi.advanceTimersByTimeAsync(2_000);
		expect(server.calls.slice(before)).toEqual([expect.stringMatching(/^refresh /)]);
		expect(session.accessToken()).toMatch(/^at-alice-/);
	});
});
