import type { Message } from "../../contract/messages.ts";
import type { MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { withReceipts } from "./receipts.ts";

/** Messages of one conversation as clients see them now. */
export async function viewsOf(svc: Pick<MessagesState, "cursors" | "secret">, docs: MessageDoc[], groupId: string): Promise<Message[]> {
	return docs.length ? withReceipts(docs, await svc.cursors.receiptsOf(groupId), svc.secret) : [];
}
