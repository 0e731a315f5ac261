import { Validators } from "moleculer";
import { VALIDATION_MESSAGES } from "./params.ts";

type CheckerFunction = ReturnType<InstanceType<typeof Validators.Fastest>["compile"]>;
type Check = ((value: unknown, opts?: unknown) => true | ValidationIssue[] | Promise<true | ValidationIssue[]>) & { async?: boolean };
interface ValidationIssue {
	type: string;
	field?: string;
	message?: string;
	actual?: unknown;
}

/**
 * fastest-validator answers a null where a value must be with "is required", as if nothing were there, and
 * names the array, not the item, when the null is an array's item.
 */
function namingNulls(result: true | ValidationIssue[], params: unknown): true | ValidationIssue[] {
	if (result === true) return result;
	for (const issue of result) {
		if (issue.type !== "required" || issue.actual !== null || !issue.field) continue;
		const at = valueAt(params, issue.field);
		if (at === null) {
			issue.type = "notNull";
			issue.message = `The '${issue.field}' field must not be null.`;
		} else if (Array.isArray(at)) {
			issue.type = "arrayNull";
			issue.message = `The '${issue.field}' field must not contain null.`;
		}
	}
	return result;
}

function valueAt(root: unknown, field: string): unknown {
	let value = root;
	for (const step of field.split(/[.[\]]/).filter(Boolean)) {
		if (value == null || typeof value !== "object") return undefined;
		value = (value as Record<string, unknown>)[step];
	}
	return value;
}

/** The node's validator: fastest-validator with our messages (lib/params.ts VALIDATION_MESSAGES). */
export class ChatValidator extends Validators.Fastest {
	constructor() {
		super({ messages: VALIDATION_MESSAGES });
	}

	// Moleculer's type says boolean; a failed check answers its list of issues.
	compile(schema: Record<string, unknown>): CheckerFunction {
		const check = super.compile(schema) as unknown as Check;
		const named: Check = check.async
			? (value, opts) => (check(value, opts) as Promise<true | ValidationIssue[]>).then(result => namingNulls(result, value))
			: (value, opts) => namingNulls(check(value, opts) as true | ValidationIssue[], value);
		named.async = check.async;
		return named as unknown as CheckerFunction;
	}
}
