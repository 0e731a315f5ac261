import type { Logger } from "moleculer";
import type { SystemLine } from "../../contract/messages.ts";
import type { UserContext } from "../../lib/session.ts";

/**
 * A group change written into the conversation's timeline as a system line ("Alice added Bob"), through
 * the one internal door `messages.appendSystemLine`, once the change is stored. A line that cannot be
 * appended (the messages service overloaded or out of reach) is logged, not thrown: the change has
 * happened, and failing it now would tell the caller otherwise. The timeline misses a note, nothing else.
 */
export async function noteInTimeline(ctx: UserContext, logger: Pick<Logger, "warn">, groupId: string, system: SystemLine): Promise<void> {
	try {
		await ctx.call("messages.appendSystemLine", { groupId, actorId: ctx.meta.user.id, system });
	} catch (err) {
		logger.warn(`Could not add the system line ${system.type} to conversation ${groupId}`, err);
	}
}
