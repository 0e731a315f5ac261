import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GroupBase, GroupList, ServerEventName, ServerEvents } from '@scalable-chat/contract';
import { group } from '#lib/conversations/fixtures.ts';

const ME = 'me';

// The store's neighbours, as far as it talks to them: the server's answers, the socket's events, who I am.
const server = vi.hoisted(() => ({ groups: new Map<string, unknown>() }));
const handlers = vi.hoisted(() => new Map<string, ((payload: unknown) => void)[]>());

vi.mock('#lib/api/client.ts', () => ({
	groupsApi: {
		list: vi.fn(async () => ({ items: [...server.groups.values()], next: null })),
		get: vi.fn(async (id: string) => {
			const found = server.groups.get(id);
			if (!found) throw Object.assign(new Error('Not found'), { status: 404 });
			return found;
		}),
		leave: vi.fn(async () => ({}))
	},
	messagesApi: {}
}));
vi.mock('#lib/realtime/realtime.svelte.ts', () => ({
	realtime: {
		connected: false,
		on(event: string, handler: (payload: unknown) => void) {
			handlers.set(event, [...(handlers.get(event) ?? []), handler]);
			return () =>
				handlers.set(
					event,
					(handlers.get(event) ?? []).filter(h => h !== handler)
				);
		},
		emit: vi.fn(async () => ({}))
	}
}));
const session = vi.hoisted(() => ({ userId: 'me', status: 'authenticated', epoch: 0 }));
vi.mock('./session-manager.svelte', () => ({ session }));
const outbox = vi.hoisted(() => ({ abandon: vi.fn() }));
vi.mock('#lib/outbox/outbox-manager.svelte.ts', () => ({ outbox }));
vi.mock('./users-manager.svelte', () => ({
	users: { ensure: () => undefined, get: () => undefined, displayName: (id: string) => id }
}));
vi.mock('./presence-manager.svelte', () => ({ presence: { get: () => undefined, query: async () => undefined } }));

const { groupsApi } = await import('#lib/api/client.ts');
const { conversations } = await import('./conversations-manager.svelte.ts');

function emit<E extends ServerEventName>(event: E, payload: ServerEvents[E]): void {
	for (const handler of handlers.get(event) ?? []) handler(payload);
}

const flush = () => new Promise(resolve => setTimeout(resolve, 0));

/** The conversation as events carry it, with these members. */
function base(id: string, memberIds: string[], name = id): GroupBase {
	const { id: _, ...rest } = group(id, { name, members: memberIds.map(userId => ({ userId, role: 'member' })) });
	return { ...rest, id, memberCount: memberIds.length };
}

describe('conversations: groups the user is no longer in', () => {
	let detach: () => void;

	beforeEach(async () => {
		detach?.();
		conversations.clear();
		server.groups.clear();
		const listener = { addEventListener() {}, removeEventListener() {} };
		vi.stubGlobal('window', listener);
		vi.stubGlobal('document', { ...listener, visibilityState: 'visible', hasFocus: () => true });
		server.groups.set('g1', group('g1', { name: 'Trip', members: [{ userId: ME, role: 'member' }] }));
		outbox.abandon.mockClear();
		detach = conversations.attach();
		await conversations.load();
		expect(conversations.byId('g1')).toBeDefined();
	});
	afterEach(() => detach());

	it('a late group.updated after leaving does not bring the group back', async () => {
		const leaving = conversations.leave('g1');
		server.groups.delete('g1');
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: 'bob', group: base('g1', ['bob']) });
		await leaving;
		// The rename happened before the user left; its event comes after.
		emit('group.updated', base('g1', [ME, 'bob'], 'Trip 2'));
		await flush();
		expect(conversations.byId('g1')).toBeUndefined();
		expect(conversations.leftTitle('g1')).toBe('Trip');
	});

	it('a late event after being removed does not bring the group back, nor hide the notice', async () => {
		server.groups.delete('g1');
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: 'bob', group: base('g1', ['bob']) });
		emit('group.member.added', { groupId: 'g1', userIds: ['carol'], group: base('g1', [ME, 'bob', 'carol']) });
		emit('group.member.removed', { groupId: 'g1', userId: 'dave', actorId: 'bob', group: base('g1', [ME, 'bob']) });
		emit('group.updated', base('g1', [ME, 'bob'], 'Trip 2'));
		await flush();
		expect(conversations.byId('g1')).toBeUndefined();
		expect(conversations.removalOf('g1')).toEqual({ groupId: 'g1', title: 'Trip' });
	});

	it('being added back brings it back', async () => {
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: 'bob', group: base('g1', ['bob']) });
		emit('group.member.added', { groupId: 'g1', userIds: [ME], group: base('g1', ['bob', ME]) });
		await flush();
		expect(conversations.byId('g1')).toBeDefined();
		expect(conversations.leftTitle('g1')).toBeUndefined();
	});

	it('a fresh list from the server brings it back', async () => {
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: 'bob', group: base('g1', ['bob']) });
		await conversations.load();
		expect(conversations.byId('g1')).toBeDefined();
		// Back in it, a later change shows as usual.
		emit('group.updated', base('g1', [ME, 'bob'], 'Trip 2'));
		expect(conversations.byId('g1')?.name).toBe('Trip 2');
	});

	it('leaving on another device is leaving: no "you were removed" notice', async () => {
		server.groups.delete('g1');
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: ME, group: base('g1', ['bob']) });
		await flush();
		expect(conversations.byId('g1')).toBeUndefined();
		expect(conversations.removalOf('g1')).toBeUndefined();
		expect(conversations.leftTitle('g1')).toBe('Trip');
	});

	it('removed by someone else: the notice names the group', async () => {
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: 'bob', group: base('g1', ['bob']) });
		expect(conversations.removalOf('g1')).toEqual({ groupId: 'g1', title: 'Trip' });
		expect(conversations.leftTitle('g1')).toBeUndefined();
	});

	it('a group the list has not reached yet still shows its changes', async () => {
		server.groups.set('g2', group('g2', { name: 'Later page', members: [{ userId: ME, role: 'member' }] }));
		emit('group.updated', base('g2', [ME], 'Later page'));
		await flush();
		expect(conversations.byId('g2')?.name).toBe('Later page');
	});
});

describe('conversations: what the user wrote where they are no longer', () => {
	let detach: () => void;
	beforeEach(async () => {
		conversations.clear();
		server.groups.clear();
		server.groups.set('g1', group('g1', { name: 'Trip', members: [{ userId: ME, role: 'member' }] }));
		outbox.abandon.mockClear();
		detach = conversations.attach();
		await conversations.load();
	});
	afterEach(() => detach());

	it('being removed takes its unsent messages out, named for the notice', () => {
		emit('group.member.removed', { groupId: 'g1', userId: ME, actorId: 'bob', group: base('g1', ['bob']) });
		expect(outbox.abandon).toHaveBeenCalledWith('g1', 'Trip');
	});

	it('leaving does too', async () => {
		await conversations.leave('g1');
		expect(outbox.abandon).toHaveBeenCalledWith('g1', 'Trip');
	});

	it('someone else leaving does not', () => {
		emit('group.member.removed', { groupId: 'g1', userId: 'bob', actorId: 'bob', group: base('g1', [ME]) });
		expect(outbox.abandon).not.toHaveBeenCalled();
	});
});

describe('conversations: answers for a sign-in that is over', () => {
	beforeEach(() => {
		conversations.clear();
		server.groups.clear();
	});

	it('a list asked for before a sign-out and a sign-in is not the new user’s', async () => {
		let answer = (_list: GroupList) => undefined as void;
		vi.mocked(groupsApi.list).mockImplementationOnce(() => new Promise(resolve => (answer = resolve)));
		const loading = conversations.load();
		session.epoch++;
		answer({ items: [group('theirs', { members: [{ userId: ME, role: 'member' }] })], next: null } as GroupList);
		await loading;
		expect(conversations.groups).toEqual([]);
		expect(conversations.loaded).toBe(false);
	});

	it('a failed one says nothing to the next user', async () => {
		let fail = (_error: unknown) => undefined as void;
		vi.mocked(groupsApi.list).mockImplementationOnce(() => new Promise((_, reject) => (fail = reject)));
		const loading = conversations.load();
		session.epoch++;
		fail(new TypeError('Failed to fetch'));
		await loading;
		expect(conversations.loadError).toBeNull();
	});

	it('nor is a conversation looked up before', async () => {
		server.groups.set('theirs', group('theirs', { members: [{ userId: ME, role: 'member' }] }));
		const fetching = conversations.fetch('theirs');
		session.epoch++;
		await fetching;
		expect(conversations.byId('theirs')).toBeUndefined();
	});
});
