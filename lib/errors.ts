import { Errors } from "moleculer";

const { MoleculerClientError, ValidationError } = Errors;

export interface FieldProblem {
	field: string;
	message: string;
	type: string;
}

/** 422 naming the field, shaped like the validator's own errors so clients handle both the same way. */
export function invalidField(field: string, message: string, type = "invalid"): Errors.MoleculerClientError {
	return new ValidationError(message, "VALIDATION_ERROR", [{ field, message, type }]);
}

export const unauthorized = (message = "Authentication required", type = "UNAUTHORIZED") => new MoleculerClientError(message, 401, type);

export const forbidden = (message: string, type = "FORBIDDEN") => new MoleculerClientError(message, 403, type);

/** Unknown and not-visible look the same, so a non-member learns nothing about a conversation. */
export const notFound = (what: string, type = "NOT_FOUND") => new MoleculerClientError(`${what} not found`, 404, type);

export const conflict = (message: string, type = "CONFLICT", data?: unknown) => new MoleculerClientError(message, 409, type, data);

export const payloadTooLarge = (message: string) => new MoleculerClientError(message, 413, "PAYLOAD_TOO_LARGE");

export const unsupportedMediaType = (message: string) => new MoleculerClientError(message, 415, "UNSUPPORTED_MEDIA_TYPE");

export const rateLimited = (retryAfterMs: number) => new MoleculerClientError("Too many requests, slow down", 429, "RATE_LIMITED", { retryAfterMs });

export interface ClientError {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}

/**
 * What a client may see of an error: 4xx errors as they are (validation messages naming
 * their fields), anything else as an opaque 5xx so internals never leak.
 */
export function toClientError(err: unknown): ClientError {
	const e = err as Errors.MoleculerError & { data?: unknown };
	if (e instanceof ValidationError || e?.name === "ValidationError") {
		const problems = normalizeProblems(e.data);
		const message = problems.length ? problems.map(p => p.message).join(" ") : e.message;
		return { name: "ValidationError", message, code: 422, type: "VALIDATION_ERROR", data: problems };
	}
	// body-parser's errors: malformed JSON, body over the limit.
	const bodyError = (e as { type?: string })?.type;
	if (bodyError === "entity.parse.failed") return { name: "BadRequestError", message: "The request body is not valid JSON", code: 400, type: "INVALID_JSON" };
	if (bodyError === "entity.too.large") return { name: "PayloadTooLargeError", message: "The request body is too large", code: 413, type: "PAYLOAD_TOO_LARGE" };
	// A missing or unreachable service is our problem, not the client's (Moleculer gives it 404).
	if (e?.name === "ServiceNotAvailableError" || e?.name === "ServiceNotFoundError" || e?.name === "RequestTimeoutError")
		return { name: "ServiceUnavailableError", message: "Service temporarily unavailable, try again", code: 503, type: "SERVICE_UNAVAILABLE" };
	const code = typeof e?.code === "number" ? e.code : 500;
	if (code === 429)
		return { name: "RateLimitError", message: "Too many requests, slow down", code, type: "RATE_LIMITED", ...(e.data !== undefined ? { data: e.data } : {}) };
	if (code >= 400 && code < 500) {
		return { name: e.name, message: e.message, code, type: e.type ?? "CLIENT_ERROR", ...(e.data !== undefined ? { data: e.data } : {}) };
	}
	return { name: "InternalError", message: "Internal server error", code: 500, type: "INTERNAL_ERROR" };
}

function normalizeProblems(data: unknown): FieldProblem[] {
	if (!Array.isArray(data)) return [];
	return data.map((d: { field?: string; message?: string; type?: string }) => ({
		field: String(d.field ?? ""),
		message: String(d.message ?? "Invalid value"),
		type: String(d.type ?? "invalid")
	}));
}

export { MoleculerClientError };
