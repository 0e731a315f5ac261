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

/** 413: the user's assets would outgrow their storage quota (UPLOAD_QUOTA_BYTES). */
export const quotaExceeded = (quotaBytes: number, usedBytes: number) =>
	new MoleculerClientError(`This file does not fit in your storage quota: you use ${usedBytes} of ${quotaBytes} bytes`, 413, "QUOTA_EXCEEDED", {
		quotaBytes,
		usedBytes
	});

export const unsupportedMediaType = (message: string) => new MoleculerClientError(message, 415, "UNSUPPORTED_MEDIA_TYPE");

export const rateLimited = (retryAfterMs: number) => new MoleculerClientError("Too many requests, slow down", 429, "RATE_LIMITED", { retryAfterMs });

export const OVERLOADED = "SERVICE_OVERLOADED";

/** Shed at once, before any work, so a client backs off and retries (the same clientMessageId) after `retryAfterMs`. */
/** Made by the thousand per second under load, so without a stack (capturing one costs more than the refusal). */
export function overloaded(retryAfterMs: number): Errors.MoleculerError {
	const limit = Error.stackTraceLimit;
	Error.stackTraceLimit = 0;
	try {
		return new Errors.MoleculerError("The server is busy, try again shortly", 503, OVERLOADED, { retryAfterMs });
	} finally {
		Error.stackTraceLimit = limit;
	}
}

/** The ack body of a refusal made before any work (the socket gateway's fast path): what toClientError makes of `overloaded`. */
export const overloadedBody = (retryAfterMs: number): ClientError => ({
	name: "ServiceOverloadedError",
	message: "The server is busy, try again shortly",
	code: 503,
	type: OVERLOADED,
	data: { retryAfterMs }
});

/** A rejection a node makes on purpose under load: not a failure of the node (the circuit breaker ignores it). */
export const isOverloaded = (err: unknown) => (err as { type?: unknown })?.type === OVERLOADED;

/** A timeout or a missing service says nothing about when to come back: a second, and clients add their own back-off. */
const UNAVAILABLE_RETRY_AFTER_MS = 1000;

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
	const unreadable = requestBodyError(err);
	if (unreadable) return unreadable;
	if (isOverloaded(e)) return { name: "ServiceOverloadedError", message: e.message, code: 503, type: OVERLOADED, data: e.data };
	const code = typeof e?.code === "number" ? e.code : 500;
	// Server errors that are no bug keep their code (opaque messages all the same): the client retries them.
	if (e?.name === "RequestTimeoutError" || code === 504)
		return { name: "GatewayTimeoutError", message: "The request timed out, try again", code: 504, type: "REQUEST_TIMEOUT" };
	// A missing or unreachable service (Moleculer gives it 404), a node still starting, a retryable conflict.
	if (e?.name === "ServiceNotAvailableError" || e?.name === "ServiceNotFoundError" || code === 503)
		return {
			name: "ServiceUnavailableError",
			message: "Service temporarily unavailable, try again",
			code: 503,
			type: "SERVICE_UNAVAILABLE",
			data: { retryAfterMs: UNAVAILABLE_RETRY_AFTER_MS }
		};
	if (code === 502) return { name: "BadGatewayError", message: "The cluster is not reachable, try again", code: 502, type: "BAD_GATEWAY" };
	if (code === 429)
		return { name: "RateLimitError", message: "Too many requests, slow down", code, type: "RATE_LIMITED", ...(e.data !== undefined ? { data: e.data } : {}) };
	if (code >= 400 && code < 500) {
		return { name: e.name, message: e.message, code, type: e.type ?? "CLIENT_ERROR", ...(e.data !== undefined ? { data: e.data } : {}) };
	}
	return { name: "InternalError", message: "Internal server error", code: 500, type: "INTERNAL_ERROR" };
}

/** body-parser's and raw-body's errors (http-errors, by their `type`), as the client sees them. */
const BODY_ERRORS: Record<string, Omit<ClientError, "data">> = {
	"entity.parse.failed": { name: "BadRequestError", message: "The request body is not valid JSON", code: 400, type: "INVALID_JSON" },
	"entity.too.large": { name: "PayloadTooLargeError", message: "The request body is too large", code: 413, type: "PAYLOAD_TOO_LARGE" },
	"encoding.unsupported": {
		name: "UnsupportedMediaTypeError",
		message: "The request body's Content-Encoding is not supported (send gzip, deflate, br or none)",
		code: 415,
		type: "UNSUPPORTED_ENCODING"
	},
	"entity.invalid.utf8": { name: "BadRequestError", message: "The request body is not valid UTF-8", code: 400, type: "INVALID_UTF8" },
	"charset.unsupported": { name: "UnsupportedMediaTypeError", message: "The request body must be UTF-8", code: 415, type: "UNSUPPORTED_CHARSET" },
	"request.aborted": { name: "BadRequestError", message: "The request body ended early", code: 400, type: "INCOMPLETE_BODY" },
	"request.size.invalid": { name: "BadRequestError", message: "The request body does not match its Content-Length", code: 400, type: "INCOMPLETE_BODY" }
};

/** busboy's (multipart) errors are plain Errors: known by their messages. */
const MULTIPART_ERRORS: [RegExp, Omit<ClientError, "data">][] = [
	[/unexpected end of multipart data$/i, { name: "BadRequestError", message: "The multipart body ended early", code: 400, type: "INCOMPLETE_BODY" }],
	[
		/^(Multipart: Boundary not found|Unsupported Content-Type\.|Missing Content-Type-header\.)$/,
		{ name: "UnsupportedMediaTypeError", message: "Send the file as multipart/form-data with a boundary", code: 415, type: "UNSUPPORTED_MEDIA_TYPE" }
	]
];

/**
 * A request whose body could not be read is the client's fault, never a 500: malformed JSON, a body over the
 * limit, a Content-Encoding that is not what it says (zlib's error, which body-parser marks 400), a body
 * shorter than its Content-Length, a broken multipart envelope. Null for every other error.
 */
export function requestBodyError(err: unknown): ClientError | null {
	const e = err as { type?: unknown; status?: unknown; expose?: unknown; message?: unknown; code?: unknown } | null;
	if (!e || typeof e !== "object") return null;
	if (typeof e.type === "string" && BODY_ERRORS[e.type]) return { ...BODY_ERRORS[e.type] };
	if (e.expose === true && typeof e.status === "number" && e.status >= 400 && e.status < 500 && typeof e.code !== "number")
		return { name: "BadRequestError", message: "The request body could not be read (is its Content-Encoding right?)", code: 400, type: "INVALID_BODY" };
	if (err instanceof Error && typeof e.code !== "number") {
		for (const [pattern, answer] of MULTIPART_ERRORS) if (pattern.test(err.message)) return { ...answer };
	}
	return null;
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
