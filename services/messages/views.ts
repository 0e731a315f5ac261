import type { Message } from "../../contract/messages.ts";
import type { MessageDoc } from "./documents.ts";
import type { MessagesState } from "./messages.service.ts";
import { viewerReactions } from "./reactions.ts";
import { withReceipts } from "./receipts.ts";

type ViewSource = Pick<MessagesState, "cursors" | "secret"> & Partial<Pick<MessagesState, "db">>;

/**
 * Messages of one conversation as clients see them now: as `viewerId` sees them when given (the `me` of
 * their reactions, which needs `svc.db`), else as a broadcast sees them (every `me` false).
 */
export async function viewsOf(svc: ViewSource, docs: MessageDoc[], groupId: string, viewerId?: string): Promise<Message[]> {
	if (docs.length === 0) return [];
	if (viewerId && !svc.db) throw new Error("viewsOf for a viewer needs the reactions collection");
	const [receipts, mine] = await Promise.all([svc.cursors.receiptsOf(groupId), viewerId ? viewerReactions(svc.db!.reactions, docs, viewerId) : undefined]);
	return withReceipts(docs, receipts, svc.secret, mine);
}
