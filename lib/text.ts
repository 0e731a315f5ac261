/**
 * What people may store as text that others see: names (display names, group names), one-line profile
 * text (status) and message content. One set of rules for every action that stores such text.
 *
 * - Control characters (C0, DEL, C1) are refused: NUL and friends break storage, logs and terminals.
 *   Message content may hold newlines and tabs (CR LF and lone CR become LF); one-line text may not.
 * - Bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069) are removed from names and one-line text,
 *   so a name cannot render reversed ("gnp.exe") or drag the text around it along.
 * - Text with nothing visible (only spaces, default-ignorable characters such as U+200B–U+200D,
 *   U+2060, U+FEFF, and the braille blank U+2800) counts as empty. Invisible characters inside visible text stay: U+200D joins emoji.
 */

export type TextKind = "name" | "line" | "content";

export type TextVerdict = { ok: true; value: string } | { ok: false; problem: "control" | "invisible" };

// eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
const CONTROL_BUT_LF_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
export const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
// U+2800 (braille pattern blank) is no space to Unicode but draws nothing: the favourite "empty" name.
const VISIBLE = /[^\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]/u;

/** Characters as people count them in limits: code points, so an emoji (two UTF-16 units) counts once (shared with the web app). */
export { characterCount } from "../contract/limits.ts";

/** True when `text` has at least one character that shows. */
export function hasVisibleText(text: string): boolean {
	return VISIBLE.test(text);
}

/**
 * Cleans `text` by the rules of its kind: the cleaned value (NFC, trimmed), or why it is refused.
 * An empty string stays empty (whether it may be empty is the field's own rule).
 */
export function checkText(text: string, kind: TextKind): TextVerdict {
	let value = text.normalize("NFC");
	if (kind === "content") {
		value = value.replace(/\r\n?/g, "\n");
		if (CONTROL_BUT_LF_TAB.test(value)) return { ok: false, problem: "control" };
	} else {
		if (CONTROL.test(value)) return { ok: false, problem: "control" };
		value = value.replace(BIDI_CONTROLS, "");
	}
	const given = text !== "";
	value = value.trim();
	if (given && !hasVisibleText(value)) return kind === "content" ? { ok: true, value: "" } : { ok: false, problem: "invisible" };
	return { ok: true, value };
}

export const TEXT_PROBLEMS: Record<Exclude<TextVerdict, { ok: true }>["problem"], Record<TextKind, string>> = {
	control: {
		name: "The '{field}' field must not contain control characters or line breaks.",
		line: "The '{field}' field must not contain control characters or line breaks.",
		content: "The '{field}' field must not contain control characters (other than line breaks and tabs)."
	},
	invisible: {
		name: "The '{field}' field must contain visible characters.",
		line: "The '{field}' field must contain visible characters (or be empty).",
		content: "The '{field}' field must contain visible characters."
	}
};
