import { invalidField } from "../../lib/errors.ts";
import { TEXT_LIMITS } from "../../contract/limits.ts";
import { characterCount } from "../../lib/text.ts";

/** In characters (code points): an emoji counts once. */
export const MAX_CONTENT = TEXT_LIMITS.messageContent;

/** Send and edit share the rules of what a message may say. */
export function checkedContent(raw: string | undefined, attachmentCount: number): string {
	const content = (raw ?? "").trim();
	if (characterCount(content) > MAX_CONTENT) throw invalidField("content", `The 'content' field must be at most ${MAX_CONTENT} characters.`, "stringMax");
	if (content.length === 0 && attachmentCount === 0) throw invalidField("content", "The 'content' field must not be empty.", "stringEmpty");
	return content;
}
