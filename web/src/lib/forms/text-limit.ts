import { characterCount } from '@scalable-chat/contract/limits';

/** How a field's text stands against its limit (contract/limits.ts), counted as the server counts it. */
export interface TextLimitState {
	/** Characters: code points of the text as it will be sent (NFC, trimmed), so an emoji counts once. */
	count: number;
	max: number;
	/** Negative when over. */
	remaining: number;
	/** Past the limit: the form does not send it. */
	over: boolean;
	/** What to show beside the field: nothing until the limit is near, then what is left, or how much is too much. */
	notice: string | null;
}

/** From this close to the limit the field says how much is left: 10 characters, or the last 5% of a long one. */
export const nearLimit = (max: number): number => Math.max(10, Math.ceil(max * 0.05));

const characters = (n: number) => `${n} ${n === 1 ? 'character' : 'characters'}`;

/** Where `text` stands against `max` characters (instead of `maxlength`, which counts an emoji twice). */
export function textLimit(text: string, max: number): TextLimitState {
	const count = characterCount(text.normalize('NFC').trim());
	const remaining = max - count;
	const over = remaining < 0;
	let notice: string | null = null;
	if (over) notice = `${characters(-remaining)} over the limit of ${max}`;
	else if (remaining <= nearLimit(max)) notice = `${characters(remaining)} left`;
	return { count, max, remaining, over, notice };
}
