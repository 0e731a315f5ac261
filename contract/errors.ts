/** A field the validator (or a handler) rejected. */
export interface FieldProblem {
	field: string;
	message: string;
	type: string;
}

/** Every error body, over REST and in socket acks: 4xx as they are, anything else an opaque 5xx. */
export interface ErrorBody {
	name: string;
	message: string;
	code: number;
	type: string;
	data?: unknown;
}
