import type { ErrorBody, FieldProblem } from '@scalable-chat/contract';

/** An error answered by the API (HTTP 4xx/5xx or a socket ack with ok: false). */
export class ApiError extends Error {
	readonly status: number;
	readonly type: string;
	readonly code: number;
	readonly data: unknown;

	constructor(status: number, body: Partial<ErrorBody>) {
		super(body.message || `Request failed (${status})`);
		this.name = body.name || 'ApiError';
		this.status = status;
		this.code = body.code ?? status;
		this.type = body.type || 'UNKNOWN';
		this.data = body.data;
	}

	/** Validation messages keyed by field name, for showing next to form inputs. */
	get fieldErrors(): Record<string, string> {
		const out: Record<string, string> = {};
		if (!Array.isArray(this.data)) return out;
		for (const entry of this.data as FieldProblem[]) {
			if (entry && typeof entry.field === 'string' && !(entry.field in out)) {
				out[entry.field] = entry.message;
			}
		}
		return out;
	}
}

export function errorMessage(error: unknown): string {
	if (error instanceof Error) return error.message;
	return String(error);
}
