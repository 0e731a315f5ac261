import type { SyncRequest, SyncResult } from "../../contract/messages.ts";
import { invalidField } from "../../lib/errors.ts";
import type { UserContext } from "../../lib/session.ts";
import { changesPage, storedLastVersion } from "./changes.ts";
import type { MessagesState } from "./messages.service.ts";
import { catchUpRange, pageOf } from "./pages.ts";
import { viewerReactions } from "./reactions.ts";
import { withReceipts } from "./receipts.ts";
import { viewerReadSeq } from "./heads.ts";
import { effectiveUnreadFrom } from "./unread.ts";
import { decodeSyncToken, encodeSyncToken, mergeMarks, SyncTokenError, type VersionMarks } from "./sync-token.ts";

/** Messages, and changes, per conversation and round (docs/API.md: 200); tests lower it to page with a few messages. */
export const syncLimits = { page: 200 };

/**
 * Catch-up after being offline: for each of the caller's conversations, what came after the client's cursor
 * (up to a page; `hasMore` asks for another round), everybody's receipts, and with `since` (the previous
 * `syncToken`) the older messages changed since then.
 */
export async function syncConversations(svc: MessagesState, ctx: UserContext<SyncRequest>): Promise<SyncResult> {
	const me = ctx.meta.user.id;
	const groupIds = Object.keys(ctx.params.cursors);
	if (groupIds.length > 500) throw invalidField("cursors", "Sync at most 500 conversations at a time.");
	const earlier = ctx.params.since != null ? sinceMarks(svc, ctx.params.since, me) : null;
	// Not one conversation but many: the caller's own list filters them.
	const mine = new Set(await ctx.call<string[], object>("groups.idsForUser", { userId: me }));
	const members = groupIds.filter(id => mine.has(id));
	const marks: VersionMarks = new Map();
	const [lastMessages, viewerCursors] = await Promise.all([svc.heads.latestMessages(members), svc.cursors.ofViewer(members, me)]);
	const cursorOf = new Map(viewerCursors.map(c => [c.groupId, c]));
	const items = await Promise.all(
		members.map(async groupId => {
			const latest = lastMessages.get(groupId);
			const lastSeq = latest?.seq ?? 0;
			// Read before the pages: what changes after it is the next sync's.
			const upTo = await storedLastVersion(svc.db.messages, groupId, latest);
			const cursor = ctx.params.cursors[groupId];
			const range = catchUpRange(lastSeq, cursor, syncLimits.page);
			const window = { since: earlier?.get(groupId) ?? 0, upTo, maxSeq: Math.min(cursor, lastSeq), limit: syncLimits.page };
			const [docs, changes, receipts] = await Promise.all([
				pageOf(svc.db.messages, groupId, range),
				earlier ? changesPage(svc.db.messages, groupId, window) : null,
				svc.cursors.receiptsOf(groupId)
			]);
			marks.set(groupId, changes ? changes.mark : upTo);
			const reacted = await viewerReactions(svc.db.reactions, changes ? [...docs, ...changes.docs] : docs, me);
			// The caller's own read state as the conversation list shows it: another device may have read or marked unread meanwhile.
			const own = cursorOf.get(groupId);
			const readSeq = viewerReadSeq(latest, own, me);
			return {
				groupId,
				messages: withReceipts(docs, receipts, svc.secret, reacted),
				...(changes ? { changed: withReceipts(changes.docs, receipts, svc.secret, reacted) } : {}),
				hasMore: range.to < lastSeq || !!changes?.hasMore,
				lastSeq,
				receipts,
				readState: { readSeq, unreadFrom: effectiveUnreadFrom(own?.unreadFrom, readSeq) }
			};
		})
	);
	const syncToken = encodeSyncToken(mergeMarks(marks, earlier ?? new Map()), me, svc.secret);
	return { items, syncToken, unknownGroupIds: groupIds.filter(id => !mine.has(id)) };
}

/** 422 for a token this server did not issue to this user (or could not have: altered, truncated). */
function sinceMarks(svc: MessagesState, token: string, userId: string): VersionMarks {
	try {
		return decodeSyncToken(token, userId, svc.secret);
	} catch (err) {
		if (err instanceof SyncTokenError) throw invalidField("since", "The 'since' field must be a syncToken this server gave you.", "syncToken");
		throw err;
	}
}
