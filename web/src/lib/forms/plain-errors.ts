import type { FieldProblem } from '@scalable-chat/contract';
import { TEXT_LIMITS } from '@scalable-chat/contract/limits';
import { ApiError } from '#lib/api/errors.ts';
import { isUnreachable } from '#lib/offline/offline-cache.ts';

/** The server's limits on the fields of the app's forms, for saying them in words. */
const LIMITS: Record<string, { min?: number; max?: number; noun: string }> = {
	username: { min: 3, max: 32, noun: 'a username' },
	password: { min: 8, max: 128, noun: 'a password' },
	currentPassword: { max: 128, noun: 'your current password' },
	newPassword: { min: 8, max: 128, noun: 'a new password' },
	displayName: { max: TEXT_LIMITS.displayName, noun: 'a display name' },
	statusText: { max: TEXT_LIMITS.statusText, noun: 'a status' },
	name: { max: TEXT_LIMITS.groupName, noun: 'a name' },
	content: { max: TEXT_LIMITS.messageContent, noun: 'a message' }
};

/** What a field problem means, in the words of the form: the validator's type (and the field), never its text. */
export function plainFieldMessage(problem: Pick<FieldProblem, 'field' | 'type'>): string {
	const limits = LIMITS[problem.field];
	switch (problem.type) {
		case 'required':
		case 'stringEmpty':
			return limits ? `Enter ${limits.noun}` : 'This is required';
		case 'stringMin':
			return limits?.min ? `Use at least ${limits.min} characters` : 'This is too short';
		case 'stringMax':
			return limits?.max ? `Use at most ${limits.max} characters` : 'This is too long';
		case 'stringPattern':
			return problem.field === 'username'
				? 'Use 3 to 32 characters: lowercase letters, digits, and _ . -'
				: 'This contains characters that are not allowed';
		case 'text_control':
			return 'Keep it on one line, without special characters';
		case 'wrongPassword':
			return 'That is not your current password';
		case 'samePassword':
			return 'Choose a password different from the current one';
		case 'text_invisible':
			return 'Use at least one visible character';
		case 'string':
			return 'Enter text here';
		default:
			return 'Check this field';
	}
}

export interface PlainErrors {
	/** Messages to show next to the inputs, by field name. */
	fields: Record<string, string>;
	/** A message for the whole form, when no field explains it. */
	form: string | null;
}

/** What went wrong with a form's request, said to the person filling it in. */
export function plainErrors(error: unknown, context: 'login' | 'form' = 'form'): PlainErrors {
	if (!(error instanceof ApiError)) return { fields: {}, form: plainRequestError(error) };
	if (error.type === 'USERNAME_TAKEN') return { fields: { username: 'That username is taken' }, form: null };
	if (error.code === 401 && context === 'login') return { fields: {}, form: 'Wrong username or password' };
	const fields: Record<string, string> = {};
	if (error.code === 422 && Array.isArray(error.data)) {
		for (const problem of error.data as FieldProblem[]) {
			if (problem && typeof problem.field === 'string' && !(problem.field in fields))
				fields[problem.field] = plainFieldMessage(problem);
		}
		if (Object.keys(fields).length) return { fields, form: null };
	}
	return { fields, form: plainRequestError(error) };
}

/** A refused request as a sentence (no field to point at). */
export function plainRequestError(error: unknown): string {
	if (isUnreachable(error)) return "Can't reach the server. Try again when you're back online.";
	if (!(error instanceof ApiError)) return 'Something went wrong. Try again.';
	const code = error.code;
	if (code === 429 || error.type === 'RATE_LIMITED') return 'Too many attempts. Wait a moment and try again.';
	if (code === 401) return 'Your session has ended. Sign in again.';
	if (code === 403) return "You're not allowed to do that.";
	if (code === 404) return 'That no longer exists.';
	if (code >= 500) return 'Something went wrong on our side. Try again in a moment.';
	if (code === 422) return 'Some of what you entered is not accepted.';
	return error.message;
}
