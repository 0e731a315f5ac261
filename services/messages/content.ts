import { invalidField } from "../../lib/errors.ts";

export const MAX_CONTENT = 4000;

/** Send and edit share the rules of what a message may say. */
export function checkedContent(raw: string | undefined, attachmentCount: number): string {
	const content = (raw ?? "").trim();
	if (content.length > MAX_CONTENT) throw invalidField("content", `The 'content' field must be at most ${MAX_CONTENT} characters.`, "stringMax");
	if (content.length === 0 && attachmentCount === 0) throw invalidField("content", "The 'content' field must not be empty.", "stringEmpty");
	return content;
}
