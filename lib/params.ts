/** Validation fragments shared by actions (fastest-validator syntax). */

export const idParam = { type: "string", pattern: /^[a-f0-9]{24}$/, messages: { stringPattern: "The '{field}' field must be a valid id." } } as const;

/** Usernames are stored lower-case. */
export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;

export const idList = (max: number, min = 0) => ({ type: "array", items: idParam, min, max, unique: true }) as const;

/** Query-string numbers arrive as strings over REST; both forms are accepted. */
export const seqParam = { type: "number", integer: true, min: 0, convert: true } as const;

export const limitParam = (max: number, fallback: number) =>
	({ type: "number", integer: true, min: 1, max, convert: true, optional: true, default: fallback }) as const;

export const clientMessageIdParam = {
	type: "string",
	min: 1,
	max: 64,
	pattern: /^[A-Za-z0-9_.:-]+$/,
	optional: true,
	messages: { stringPattern: "The '{field}' field may contain only letters, digits and _ . : -" }
} as const;

/** Unknown fields are dropped rather than stored; typed fields still reject wrong types. */
export function params<T extends Record<string, unknown>>(schema: T): T & { $$strict: "remove" } {
	return { $$strict: "remove", ...schema };
}
