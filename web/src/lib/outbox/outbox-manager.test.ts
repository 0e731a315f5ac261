import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Message, SendMessageRequest } from '@scalable-chat/contract';
import type { OutboxStore } from './outbox-store';

// The send goes over REST here (no socket); each test says how the server answers.
const send = vi.hoisted(() => vi.fn<(body: SendMessageRequest) => Promise<Message>>());
vi.mock('#lib/api/client.ts', () => ({ messagesApi: { send } }));
vi.mock('#lib/realtime/realtime.svelte.ts', () => ({
	realtime: { connected: false, onConnect: () => () => undefined, emit: vi.fn() }
}));
// The tabs of one browser share its IndexedDB: here, one store in memory.
const browser = vi.hoisted(() => ({ store: null as OutboxStore | null }));
vi.mock('./outbox-store', async importOriginal => {
	const actual = await importOriginal<typeof import('./outbox-store')>();
	return { ...actual, openOutboxStore: () => (browser.store ??= actual.openOutboxStore()) };
});

const stored = (body: SendMessageRequest) =>
	({ id: `m-${body.clientMessageId}`, groupId: body.groupId, clientMessageId: body.clientMessageId }) as Message;
const offline = () => Promise.reject(new TypeError('Failed to fetch'));
/** A refusal of the server, as the latest tab's module instance knows the class. */
async function refusal(status: number, type: string): Promise<never> {
	const { ApiError } = await import('#lib/api/errors.ts');
	throw new ApiError(status, { code: status, type, message: type });
}
/** Let pending sends, store writes and messages between tabs land. */
const settle = () => new Promise(resolve => setTimeout(resolve, 20));

let detach: (() => void)[] = [];

/** A tab of the user: its own page (module instances), over the browser's shared store. */
async function tab() {
	vi.resetModules();
	const { outbox } = await import('./outbox-manager.svelte.ts');
	detach.push(outbox.attach('me'));
	return outbox;
}
const store = () => browser.store!;

beforeEach(() => {
	browser.store = null;
	send.mockReset();
});

afterEach(() => {
	detach.forEach(off => off());
	detach = [];
});

describe('two tabs of one user', () => {
	it('a message cancelled in one tab is not sent by another that loaded it', async () => {
		send.mockImplementation(offline);
		const y = await tab();
		y.enqueue('g1', 'oops, wrong conversation', []);
		await settle();
		const x = await tab();
		await settle();
		expect(x.entries.map(e => e.content)).toEqual(['oops, wrong conversation']);

		y.cancel(y.entries[0].clientMessageId);
		await settle();
		expect(x.entries).toEqual([]);

		send.mockReset();
		send.mockImplementation(async body => stored(body));
		x.flush();
		await settle();
		expect(send).not.toHaveBeenCalled();
	});

	it('a send failing in one tab after the other cancelled the message does not store it again', async () => {
		send.mockImplementation(offline);
		const y = await tab();
		y.enqueue('g1', 'take it back', []);
		await settle();
		const x = await tab();
		await settle();
		let fail = (_error: unknown) => undefined as void;
		send.mockImplementation(() => new Promise((_, reject) => (fail = reject)));
		x.retry(x.entries[0].clientMessageId);
		await settle();
		expect(x.entries[0].state).toBe('sending');

		// The failure lands before the other tab's word does.
		y.cancel(y.entries[0].clientMessageId);
		fail(new TypeError('Failed to fetch'));
		await Promise.resolve();
		await settle();
		expect(await store().load('me')).toEqual([]);
		expect(x.entries).toEqual([]);
	});

	it('a message sent by one tab leaves the other', async () => {
		send.mockImplementation(offline);
		const y = await tab();
		y.enqueue('g1', 'hello', []);
		await settle();
		const x = await tab();
		await settle();
		send.mockImplementation(async body => stored(body));
		y.retry(y.entries[0].clientMessageId);
		await settle();
		expect(y.entries).toEqual([]);
		expect(x.entries).toEqual([]);
	});
});

describe('messages for a conversation the user is no longer in', () => {
	it('a send answered 404 takes that conversation’s messages out of the queue and tells the user', async () => {
		send.mockImplementation(async body => (body.groupId === 'g-gone' ? refusal(404, 'NOT_FOUND') : stored(body)));
		const outbox = await tab();
		outbox.enqueue('g-gone', 'first', []);
		outbox.enqueue('g-gone', 'second', []);
		outbox.enqueue('g-ok', 'elsewhere', []);
		await settle();
		expect(outbox.entries).toEqual([]);
		expect(outbox.undelivered).toEqual([
			{
				groupId: 'g-gone',
				title: null,
				messages: [expect.objectContaining({ content: 'first' }), expect.objectContaining({ content: 'second' })]
			}
		]);
		expect(send.mock.calls.filter(([body]) => body.groupId === 'g-gone')).toHaveLength(1);
		expect(await store().load('me')).toEqual([]);
	});

	it('leaving or being removed takes them out too; the notice goes when dismissed', async () => {
		send.mockImplementation(offline);
		const outbox = await tab();
		outbox.enqueue('g1', 'see you there', []);
		await settle();
		outbox.abandon('g1', 'Trip');
		expect(outbox.entries).toEqual([]);
		expect(outbox.outgoing).toBe(0);
		expect(outbox.undelivered.map(n => [n.groupId, n.title, n.messages.length])).toEqual([['g1', 'Trip', 1]]);
		expect(await store().load('me')).toEqual([]);
		outbox.dismissUndelivered('g1');
		expect(outbox.undelivered).toEqual([]);
	});

	it('a refused message and those behind it do not count as going out when the connection is back', async () => {
		send.mockImplementation(body => (body.content === 'too long' ? refusal(422, 'VALIDATION_ERROR') : offline()));
		const outbox = await tab();
		outbox.enqueue('g1', 'too long', []);
		outbox.enqueue('g1', 'after it', []);
		outbox.enqueue('g2', 'waits for the network', []);
		await settle();
		expect(outbox.count).toBe(3);
		expect(outbox.outgoing).toBe(1);
	});

	it('a sign-out drops the notices with the queue', async () => {
		send.mockImplementation(offline);
		const outbox = await tab();
		outbox.enqueue('g1', 'x', []);
		await settle();
		outbox.abandon('g1', 'Trip');
		expect(outbox.undelivered).toHaveLength(1);
		await outbox.purge('me');
		expect(outbox.undelivered).toEqual([]);
	});
});
