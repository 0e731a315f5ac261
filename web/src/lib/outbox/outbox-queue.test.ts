import { describe, expect, it } from 'vitest';
import { ApiError } from '#lib/api/errors.ts';
import {
	afterFailure,
	afterReconnect,
	afterReload,
	classifySendError,
	confirmed,
	dueEntries,
	newEntry,
	nextWakeAt,
	OUTBOX_BACKOFF,
	outgoing,
	pendingIn,
	retried,
	undeliverable,
	undeliveredCopy,
	undeliveredText,
	withUndelivered,
	type OutboxEntry
} from './outbox-queue';

let order = 0;
function entry(clientMessageId: string, groupId = 'g1', patch: Partial<OutboxEntry> = {}): OutboxEntry {
	return {
		...newEntry(
			{
				clientMessageId,
				groupId,
				senderId: 'me',
				content: clientMessageId,
				attachments: [],
				createdAt: new Date(2025, 0, 1).toISOString()
			},
			++order
		),
		...patch
	};
}

const ids = (list: { clientMessageId: string }[]) => list.map(e => e.clientMessageId);
const socketRefusal = (code: number, type: string, data?: unknown) =>
	new ApiError(400, { code, type, message: type, data });
const NOW = 1_000_000;

describe('dueEntries: order per conversation', () => {
	it('sends only the first unsent message of each conversation', () => {
		const entries = [entry('a1', 'a'), entry('a2', 'a'), entry('b1', 'b'), entry('a3', 'a')];
		expect(ids(dueEntries(entries, NOW))).toEqual(['a1', 'b1']);
	});

	it('goes by send order, not by array order', () => {
		const first = entry('first');
		const second = entry('second');
		expect(ids(dueEntries([second, first], NOW))).toEqual(['first']);
	});

	it('holds a conversation while its head is on the wire or refused', () => {
		expect(dueEntries([entry('a1', 'a', { state: 'sending' }), entry('a2', 'a')], NOW)).toEqual([]);
		expect(ids(dueEntries([entry('a1', 'a', { state: 'failed' }), entry('a2', 'a'), entry('b1', 'b')], NOW))).toEqual([
			'b1'
		]);
	});

	it('waits until notBefore, and says when to wake up', () => {
		const entries = [
			entry('a1', 'a', { notBefore: NOW + 500, attempts: 1 }),
			entry('b1', 'b', { notBefore: NOW + 200, attempts: 1 })
		];
		expect(dueEntries(entries, NOW)).toEqual([]);
		expect(nextWakeAt(entries, NOW)).toBe(NOW + 200);
		expect(ids(dueEntries(entries, NOW + 200))).toEqual(['b1']);
		expect(nextWakeAt([entry('c1')], NOW)).toBeNull();
	});
});

describe('classifySendError', () => {
	it('repeats what got no answer', () => {
		expect(classifySendError(new TypeError('Failed to fetch')).kind).toBe('transient');
		expect(classifySendError(new Error('The server did not answer in time')).kind).toBe('transient');
		expect(classifySendError(new ApiError(502, { message: 'Bad Gateway' })).kind).toBe('transient');
		expect(classifySendError(socketRefusal(503, 'SERVICE_UNAVAILABLE')).kind).toBe('transient');
	});

	it('waits as long as the server asks on 429 and 503 (socket acks carry the code in the body)', () => {
		expect(classifySendError(socketRefusal(429, 'RATE_LIMITED', { retryAfterMs: 1500 }))).toMatchObject({
			kind: 'wait',
			ms: 1500
		});
		expect(classifySendError(new ApiError(503, { data: { retryAfterMs: 4000 } }))).toMatchObject({
			kind: 'wait',
			ms: 4000
		});
	});

	it('gives up on refusals that would come again', () => {
		expect(classifySendError(socketRefusal(422, 'VALIDATION_ERROR')).kind).toBe('failed');
		expect(classifySendError(new ApiError(404, { message: 'Not found' })).kind).toBe('failed');
		expect(classifySendError(socketRefusal(409, 'CLIENT_MESSAGE_ID_REUSED')).kind).toBe('failed');
	});

	it('knows the server’s 404 (REST or socket) for a conversation the user is not in; not a proxy’s', () => {
		expect(classifySendError(new ApiError(404, { code: 404, type: 'NOT_FOUND' })).kind).toBe('gone');
		expect(classifySendError(socketRefusal(404, 'NOT_FOUND')).kind).toBe('gone');
		expect(classifySendError(new ApiError(404, { message: 'Not Found' })).kind).toBe('failed');
		expect(afterFailure(entry('m'), socketRefusal(404, 'NOT_FOUND'), NOW).state).toBe('failed');
	});
});

describe('afterFailure', () => {
	it('backs off on each transient failure, with the same clientMessageId', () => {
		let e = entry('m');
		e = afterFailure({ ...e, state: 'sending' }, new TypeError('Failed to fetch'), NOW, () => 1);
		expect(e).toMatchObject({
			clientMessageId: 'm',
			state: 'queued',
			attempts: 1,
			notBefore: NOW + OUTBOX_BACKOFF.baseMs,
			serverDelay: false
		});
		e = afterFailure({ ...e, state: 'sending' }, new TypeError('Failed to fetch'), NOW, () => 1);
		expect(e.notBefore).toBe(NOW + 2 * OUTBOX_BACKOFF.baseMs);
		for (let i = 0; i < 50; i++) e = afterFailure(e, new TypeError('x'), NOW, () => 1);
		expect(e.notBefore).toBe(NOW + OUTBOX_BACKOFF.maxMs);
		expect(e.state).toBe('queued');
	});

	it('waits retryAfterMs on 429, and a reconnect does not cut that short', () => {
		const e = afterFailure(entry('m'), socketRefusal(429, 'RATE_LIMITED', { retryAfterMs: 2500 }), NOW);
		expect(e).toMatchObject({ state: 'queued', notBefore: NOW + 2500, serverDelay: true });
		expect(afterReconnect([e])[0].notBefore).toBe(NOW + 2500);
		expect(dueEntries([e], NOW + 2499)).toEqual([]);
		expect(ids(dueEntries([e], NOW + 2500))).toEqual(['m']);
	});

	it('marks a refused message failed with the reason', () => {
		const e = afterFailure(entry('m'), socketRefusal(422, 'VALIDATION_ERROR'), NOW);
		expect(e).toMatchObject({ state: 'failed', error: 'VALIDATION_ERROR' });
		expect(pendingIn([e], 'g1')[0]).toMatchObject({ state: 'failed', waiting: false });
	});
});

describe('reconnect, reload, retry, confirm', () => {
	it('a reconnect sends at once what only waited for the connection', () => {
		const offline = afterFailure(entry('m'), new TypeError('Failed to fetch'), NOW);
		const [back] = afterReconnect([offline]);
		expect(back.notBefore).toBe(0);
		expect(ids(dueEntries([back], NOW))).toEqual(['m']);
		const untouched = [entry('fresh')];
		expect(afterReconnect(untouched)).toBe(untouched);
	});

	it('after a reload a send cut off mid-flight goes again, in order', () => {
		const reloaded = afterReload([entry('b', 'g1'), entry('a', 'g1', { state: 'sending', order: 0 })]);
		expect(ids(reloaded)).toEqual(['a', 'b']);
		expect(reloaded[0].state).toBe('queued');
		expect(ids(dueEntries(reloaded, NOW))).toEqual(['a']);
	});

	it('retry clears the failure and the wait, keeping the id; a message on the wire is left alone', () => {
		const failed = afterFailure(entry('m'), socketRefusal(422, 'VALIDATION_ERROR'), NOW);
		expect(retried(failed)).toMatchObject({ clientMessageId: 'm', state: 'queued', notBefore: 0, error: undefined });
		const waiting = afterFailure(entry('w'), socketRefusal(429, 'RATE_LIMITED', { retryAfterMs: 60_000 }), NOW);
		expect(retried(waiting)).toMatchObject({ notBefore: 0, serverDelay: false });
		const sending = entry('s', 'g1', { state: 'sending' });
		expect(retried(sending)).toBe(sending);
	});

	it('a stored copy confirms its entry once, whether the echo or the ack comes first', () => {
		const entries = [entry('c1'), entry('c2')];
		const afterEcho = confirmed(entries, [{ clientMessageId: 'c1' }]);
		expect(ids(afterEcho)).toEqual(['c2']);
		expect(confirmed(afterEcho, [{ clientMessageId: 'c1' }])).toBe(afterEcho);
		expect(confirmed(entries, [{ clientMessageId: null }])).toBe(entries);
	});

	it('shows a conversation’s unsent messages in send order, marking the ones that wait', () => {
		const waiting = afterFailure(entry('x1', 'x'), new TypeError('offline'), NOW);
		const later = entry('x2', 'x');
		const pending = pendingIn([later, entry('y1', 'y'), waiting], 'x');
		expect(pending.map(p => [p.clientMessageId, p.state, p.waiting])).toEqual([
			['x1', 'pending', true],
			['x2', 'pending', false]
		]);
	});
});

describe('what goes out, and what cannot', () => {
	it('counts as going out neither a refused message nor those behind it in its conversation', () => {
		const entries = [
			entry('a1', 'a', { state: 'failed' }),
			entry('a2', 'a'),
			entry('b1', 'b', { state: 'sending' }),
			entry('b2', 'b', { attempts: 3, notBefore: NOW + 5000 })
		];
		expect(ids(outgoing(entries))).toEqual(['b1', 'b2']);
	});

	it('takes a conversation’s messages out, leaving one on the wire unless its own answer refused it', () => {
		const entries = [entry('g1', 'g', { state: 'sending' }), entry('g2', 'g'), entry('h1', 'h')];
		expect(ids(undeliverable(entries, 'g'))).toEqual(['g2']);
		expect(ids(undeliverable(entries, 'g', 'g1'))).toEqual(['g1', 'g2']);
	});

	it('keeps one notice per conversation, adding what comes later to it', () => {
		let notices = withUndelivered([], 'g', 'Trip', [entry('g1', 'g')]);
		notices = withUndelivered(notices, 'h', null, [entry('h1', 'h')]);
		notices = withUndelivered(notices, 'g', null, [entry('g2', 'g', { content: '  ' })]);
		expect(notices.map(n => [n.groupId, n.title, ids(n.messages)])).toEqual([
			['h', null, ['h1']],
			['g', 'Trip', ['g1', 'g2']]
		]);
		const g = notices[1];
		expect(undeliveredText(g, 'Trip')).toBe('2 messages to Trip could not be sent: you are no longer in it.');
		expect(undeliveredText(notices[0], null)).toBe(
			'A message to a conversation could not be sent: you are no longer in it.'
		);
		expect(undeliveredCopy(g)).toBe('g1');
	});
});
