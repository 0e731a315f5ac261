import { describe, expect, it } from 'vitest';
import { TEXT_LIMITS } from '@scalable-chat/contract/limits';
import { nearLimit, textLimit } from './text-limit.ts';

describe('textLimit', () => {
	it('counts an emoji once, as the server does (maxlength would stop at 50 of them)', () => {
		const fifty = '🎉'.repeat(50);
		expect(fifty.length).toBe(100);
		expect(textLimit(fifty, TEXT_LIMITS.groupName)).toMatchObject({
			count: 50,
			remaining: 50,
			over: false,
			notice: null
		});
		const hundred = textLimit('🎉'.repeat(100), TEXT_LIMITS.groupName);
		expect(hundred).toMatchObject({ count: 100, remaining: 0, over: false, notice: '0 characters left' });
		expect(textLimit('🎉'.repeat(101), TEXT_LIMITS.groupName)).toMatchObject({
			over: true,
			notice: '1 character over the limit of 100'
		});
	});

	it('counts what is sent: trimmed, and composed (NFC)', () => {
		expect(textLimit('  ab  ', 64).count).toBe(2);
		expect(textLimit('e\u0301', 64).count).toBe(1);
	});

	it('says nothing until the limit is near, then what is left', () => {
		expect(nearLimit(64)).toBe(10);
		expect(nearLimit(4000)).toBe(200);
		expect(textLimit('a'.repeat(53), 64).notice).toBeNull();
		expect(textLimit('a'.repeat(54), 64).notice).toBe('10 characters left');
		expect(textLimit('a'.repeat(63), 64).notice).toBe('1 character left');
		expect(textLimit('a'.repeat(3799), TEXT_LIMITS.messageContent).notice).toBeNull();
		expect(textLimit('a'.repeat(3800), TEXT_LIMITS.messageContent).notice).toBe('200 characters left');
		expect(textLimit('a'.repeat(4003), TEXT_LIMITS.messageContent)).toMatchObject({
			remaining: -3,
			over: true,
			notice: '3 characters over the limit of 4000'
		});
	});

	it('an empty field is far from any limit', () => {
		expect(textLimit('', TEXT_LIMITS.statusText)).toMatchObject({ count: 0, over: false, notice: null });
	});
});
