import { describe, expect, it } from 'vitest';
import { ApiError } from '#lib/api/errors.ts';
import { plainErrors, plainFieldMessage, plainRequestError } from './plain-errors';

const validation = (...data: { field: string; type: string; message: string }[]) =>
	new ApiError(422, {
		name: 'ValidationError',
		message: 'Parameters validation error!',
		code: 422,
		type: 'VALIDATION_ERROR',
		data
	});

describe('plain-language form errors', () => {
	it('says the rule, not the validator text', () => {
		const errors = plainErrors(
			validation(
				{
					field: 'password',
					type: 'stringMin',
					message: "The 'password' field length must be greater than or equal to 8 characters long."
				},
				{
					field: 'username',
					type: 'stringPattern',
					message: "The 'username' field must be 3–32 characters of a-z, 0-9, _ . -"
				},
				{ field: 'username', type: 'stringMin', message: 'second problem of the same field is not shown' }
			)
		);
		expect(errors).toEqual({
			fields: {
				password: 'Use at least 8 characters',
				username: 'Use 3 to 32 characters: lowercase letters, digits, and _ . -'
			},
			form: null
		});
	});

	it('knows the limits of each field', () => {
		expect(plainFieldMessage({ field: 'displayName', type: 'stringMax' })).toBe('Use at most 64 characters');
		expect(plainFieldMessage({ field: 'password', type: 'stringMax' })).toBe('Use at most 128 characters');
		expect(plainFieldMessage({ field: 'currentPassword', type: 'wrongPassword' })).toBe(
			'That is not your current password'
		);
		expect(plainFieldMessage({ field: 'newPassword', type: 'stringMin' })).toBe('Use at least 8 characters');
		expect(plainFieldMessage({ field: 'username', type: 'required' })).toBe('Enter a username');
		expect(plainFieldMessage({ field: 'displayName', type: 'text_control' })).toBe(
			'Keep it on one line, without special characters'
		);
		expect(plainFieldMessage({ field: 'name', type: 'text_invisible' })).toBe('Use at least one visible character');
		expect(plainFieldMessage({ field: 'other', type: 'stringMax' })).toBe('This is too long');
	});

	it('maps error codes: a taken username, wrong credentials, rate limits, the server, the network', () => {
		expect(
			plainErrors(new ApiError(409, { type: 'USERNAME_TAKEN', message: 'That username is already taken', code: 409 }))
		).toEqual({
			fields: { username: 'That username is taken' },
			form: null
		});
		expect(plainErrors(new ApiError(401, { type: 'INVALID_CREDENTIALS', code: 401, message: 'x' }), 'login').form).toBe(
			'Wrong username or password'
		);
		expect(
			plainRequestError(new ApiError(429, { type: 'RATE_LIMITED', code: 429, message: 'Too many requests, slow down' }))
		).toBe('Too many attempts. Wait a moment and try again.');
		// A socket ack carries the real code in the body.
		expect(plainRequestError(new ApiError(400, { type: 'FORBIDDEN', code: 403, message: 'x' }))).toBe(
			"You're not allowed to do that."
		);
		expect(plainRequestError(new ApiError(500, { type: 'INTERNAL', code: 500, message: 'Internal error' }))).toMatch(
			/on our side/
		);
		expect(plainRequestError(new ApiError(503, { type: 'SERVICE_UNAVAILABLE', code: 503, message: 'x' }))).toMatch(
			/Can't reach/
		);
		expect(plainErrors(new TypeError('Failed to fetch')).form).toMatch(/Can't reach the server/);
	});
});
