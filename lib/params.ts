/** Validation fragments shared by actions (fastest-validator syntax). Types are strict: nothing is coerced. */
import { TEXT_LIMITS } from "../contract/limits.ts";
import { invalidField } from "./errors.ts";
import { characterCount, checkText, TEXT_PROBLEMS, type TextKind } from "./text.ts";

export const idParam = { type: "string", pattern: /^[a-f0-9]{24}$/, messages: { stringPattern: "The '{field}' field must be a valid id." } } as const;

/** Usernames are stored lower-case. */
export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;

export const idList = (max: number, min = 0) => ({ type: "array", items: idParam, min, max, unique: true }) as const;

/** A JSON number, never a string or a boolean; REST query and path params are converted by the gateway (queryIntegers). */
export const seqParam = { type: "number", integer: true, min: 0 } as const;

export const limitParam = (max: number, fallback: number) => ({ type: "number", integer: true, min: 1, max, optional: true, default: fallback }) as const;

export const clientMessageIdParam = {
	type: "string",
	min: 1,
	max: 64,
	pattern: /^[A-Za-z0-9_.:-]+$/,
	optional: true,
	messages: { stringPattern: "The '{field}' field may contain only letters, digits and _ . : -" }
} as const;

type CustomErrors = { type: string }[];

/**
 * A string held to the text rules of lib/text.ts; the cleaned value is what the action receives. `max` counts
 * characters (code points, characterCount): the validator's own bound is on UTF-16 units, twice as many.
 */
function textParam(kind: TextKind, max: number, min: number) {
	return {
		type: "string",
		trim: true,
		min,
		max: 2 * max,
		custom(value: unknown, errors: CustomErrors) {
			if (typeof value !== "string") return value;
			const verdict = checkText(value, kind);
			if (!verdict.ok) {
				errors.push({ type: `text_${verdict.problem}` });
				return value;
			}
			// Past the validator's own bound it has said so already.
			if (value.length <= 2 * max && characterCount(verdict.value) > max) errors.push({ type: "stringMax" });
			return verdict.value;
		},
		messages: {
			text_control: TEXT_PROBLEMS.control[kind],
			text_invisible: TEXT_PROBLEMS.invisible[kind],
			stringMax: `The '{field}' field must be at most ${max} characters.`
		}
	} as const;
}

/** Display names and group names: one line, something visible, bidi overrides removed. */
export const nameParam = (max: number, min = 1) => textParam("name", max, min);
export const displayNameParam = nameParam(TEXT_LIMITS.displayName);
/** One-line profile text such as the status; may be empty. */
export const lineParam = (max: number) => textParam("line", max, 0);
/**
 * Message content: newlines and tabs allowed, other control characters refused. `max` bounds the raw
 * string the checks walk (UTF-16 units); `limit` is the length in characters the action holds it to after
 * trimming (services/messages/content.ts), the one to name.
 */
export function contentParam(max: number, limit = max) {
	const param = textParam("content", max, 0);
	return { ...param, max, messages: { ...param.messages, stringMax: `The '{field}' field must be at most ${limit} characters.` } };
}

/**
 * The validator's messages where its own are wrong ('{expected}' where the refused value belongs) or
 * awkward; every other type keeps fastest-validator's text.
 */
export const VALIDATION_MESSAGES = {
	stringMin: "The '{field}' field must be at least {expected} characters.",
	stringMax: "The '{field}' field must be at most {expected} characters.",
	stringEnum: "The '{field}' field is not one of the allowed values.",
	enumValue: "The '{field}' field must be one of: {expected}.",
	arrayMax: "The '{field}' field must contain at most {expected} items.",
	arrayUnique: "The '{field}' field lists '{expected}' more than once.",
	arrayEnum: "The '{field}' field may contain only: {expected}.",
	object: "The '{field}' field must be an object.",
	record: "The '{field}' field must be an object."
} as const;

/** Unknown fields are dropped rather than stored; typed fields still reject wrong types. */
export function params<T extends Record<string, unknown>>(schema: T): T & { $$strict: "remove" } {
	return { $$strict: "remove", ...schema };
}

/** No valid payload is nested deeper than this (messages.send: object → attachments → attachment). */
export const MAX_PAYLOAD_DEPTH = 6;

/**
 * Refuses (422) a payload nested deeper than MAX_PAYLOAD_DEPTH before anything else looks at it: the
 * validator, the serializer and the logger all recurse, and a 100 kB body of brackets is 50 000 levels.
 * Walks iteratively, so the check itself cannot overflow the stack.
 */
export function assertShallow(payload: unknown, maxDepth = MAX_PAYLOAD_DEPTH): void {
	if (payload === null || typeof payload !== "object") return;
	const stack: [value: object, depth: number, field: string][] = [[payload, 1, ""]];
	while (stack.length) {
		const [value, depth, field] = stack.pop()!;
		if (depth > maxDepth)
			throw invalidField(field || "payload", `The '${field || "payload"}' field is nested too deeply (at most ${maxDepth} levels).`, "depth");
		const children = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : [];
		const keys = Array.isArray(value) || !isPlainObject(value) ? null : Object.keys(value);
		children.forEach((child, i) => {
			if (child !== null && typeof child === "object") stack.push([child, depth + 1, field || (keys ? keys[i] : String(i))]);
		});
	}
}

function isPlainObject(value: object): value is Record<string, unknown> {
	const proto = Object.getPrototypeOf(value);
	return proto === Object.prototype || proto === null;
}

const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]{0,15})$/;

/**
 * REST query and path params arrive as strings. Those the action declares as numbers become numbers when
 * they are canonical decimal integers ("12", not "012", "1e3", "true" or ""); anything else stays a string
 * for the validator to refuse. JSON bodies are never converted.
 */
export function queryIntegers(params: Record<string, unknown>, fromUrl: Iterable<string>, schema: Record<string, unknown> | undefined): void {
	if (!schema) return;
	for (const name of fromUrl) {
		const rule = schema[name] as { type?: unknown } | string | undefined;
		const type = typeof rule === "string" ? rule.split("|")[0] : rule?.type;
		const value = params[name];
		if (type === "number" && typeof value === "string" && CANONICAL_INTEGER.test(value) && Number.isSafeInteger(Number(value))) params[name] = Number(value);
	}
}
