import { describe, expect, it } from 'vitest';
import { ApiError } from './errors';

describe('ApiError', () => {
	it('exposes validation errors by field', () => {
		const error = new ApiError(422, {
			name: 'ValidationError',
			message: 'Parameters validation error!',
			code: 422,
			type: 'VALIDATION_ERROR',
			data: [
				{ field: 'username', message: 'Too short', type: 'stringMin' },
				{ field: 'username', message: 'second message is ignored', type: 'x' },
				{ field: 'password', message: 'Too short', type: 'stringMin' }
			]
		});
		expect(error.fieldErrors).toEqual({ username: 'Too short', password: 'Too short' });
		expect(error.type).toBe('VALIDATION_ERROR');
	});

	it('has no field errors when data is not a list', () => {
		expect(new ApiError(409, { type: 'USERNAME_TAKEN', message: 'taken' }).fieldErrors).toEqual({});
	});
});
