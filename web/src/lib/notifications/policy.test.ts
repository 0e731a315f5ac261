import { describe, expect, test } from 'vitest';
import type { NotificationSettings } from '@scalable-chat/contract';
import { excerptOf, isQuiet, muteLabel, muteUntil, wantsNotification } from './policy';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const all: NotificationSettings = { level: 'all', mutedUntil: null };
const message = { senderId: 'bob', system: null, mentions: [] as string[], mentionsAll: false, deletedAt: null };

describe('notification policy on this device', () => {
	test('all / mentions / nothing, mute, own messages and system lines', () => {
		expect(wantsNotification(all, message, 'me', NOW)).toBe(true);
		expect(wantsNotification(all, { ...message, senderId: 'me' }, 'me', NOW)).toBe(false);
		expect(wantsNotification(all, { ...message, system: { type: 'member.left' } }, 'me', NOW)).toBe(false);
		const mentions: NotificationSettings = { level: 'mentions', mutedUntil: null };
		expect(wantsNotification(mentions, message, 'me', NOW)).toBe(false);
		expect(wantsNotification(mentions, { ...message, mentions: ['me'] }, 'me', NOW)).toBe(true);
		expect(wantsNotification(mentions, { ...message, mentionsAll: true }, 'me', NOW)).toBe(true);
		expect(wantsNotification({ level: 'nothing', mutedUntil: null }, { ...message, mentions: ['me'] }, 'me', NOW)).toBe(
			false
		);
		const muted = { level: 'all' as const, mutedUntil: muteUntil(1, NOW) };
		expect(wantsNotification(muted, message, 'me', NOW)).toBe(false);
		expect(wantsNotification(muted, message, 'me', NOW + 2 * 3600_000)).toBe(true);
	});

	test('quiet conversations: muted or nothing', () => {
		expect(isQuiet(all, NOW)).toBe(false);
		expect(isQuiet({ level: 'mentions', mutedUntil: null }, NOW)).toBe(false);
		expect(isQuiet({ level: 'nothing', mutedUntil: null }, NOW)).toBe(true);
		expect(isQuiet({ level: 'all', mutedUntil: muteUntil(null, NOW) }, NOW)).toBe(true);
		expect(isQuiet({ level: 'all', mutedUntil: '2025-01-01T00:00:00Z' }, NOW)).toBe(false);
	});

	test('mute times and labels', () => {
		expect(muteUntil(8, NOW)).toBe('2026-01-01T20:00:00.000Z');
		expect(Date.parse(muteUntil(null, NOW)) - NOW).toBeGreaterThan(90 * 365 * 86400_000);
		expect(muteLabel({ level: 'all', mutedUntil: muteUntil(null, NOW) }, NOW)).toBe('Muted');
		expect(muteLabel({ level: 'all', mutedUntil: muteUntil(1, NOW) }, NOW)).toMatch(/^Muted until /);
		expect(muteLabel(all, NOW)).toBeNull();
	});

	test('excerpts', () => {
		expect(excerptOf({ content: ' a \n b ', attachments: [] })).toBe('a b');
		expect(excerptOf({ content: 'word '.repeat(60), attachments: [] }).endsWith('…')).toBe(true);
		expect(excerptOf({ content: '', attachments: [{ name: 'x.pdf' } as never] })).toBe('📎 x.pdf');
	});
});
