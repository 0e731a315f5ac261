import { setTimeout as sleep } from "node:timers/promises";
import type { Logger, ServiceBroker } from "moleculer";
import type { SourcePage } from "../messages/search-door.ts";
import { entryOf, type MessageIndex } from "./message-index.ts";

/** Messages read from the store per call: one page is indexed in one go, so it is what a rebuild blocks the loop for. */
export const REBUILD_PAGE = 1000;

/**
 * Fills the index from the messages store, a page at a time (never the whole store in memory beside the
 * index); changes announced meanwhile are kept and applied after (MessageIndex). Retried until it succeeds
 * or the service stops.
 */
export async function rebuildIndex(broker: ServiceBroker, index: MessageIndex, logger: Logger, signal: AbortSignal): Promise<void> {
	for (let attempt = 0; !signal.aborted; attempt++) {
		try {
			await broker.waitForServices(["messages"], 30_000);
			const started = Date.now();
			index.beginRebuild();
			let after: string | null = null;
			do {
				const page: SourcePage = await broker.call("messages.searchSource", after ? { after, limit: REBUILD_PAGE } : { limit: REBUILD_PAGE });
				if (signal.aborted) return;
				index.addStored(page.messages.map(entryOf));
				after = page.last;
			} while (after);
			index.endRebuild();
			logger.info(`Search index built from the store: ${index.size} messages in ${Date.now() - started} ms`);
			return;
		} catch (err) {
			if (signal.aborted) return;
			logger.warn("Building the search index from the store failed; trying again", err);
			await sleep(Math.min(30_000, 500 * 2 ** attempt)).catch(() => undefined);
		}
	}
}
