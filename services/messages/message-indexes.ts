import type { IndexSpec } from "../../mixins/db.mixin.ts";
import { OUTBOX_INDEX } from "../../lib/outbox.ts";
import { MENTION_INDEX } from "./mention-counts.ts";
import { TEXT_INDEX } from "./search-door.ts";

/**
 * The indexes of the messages collection: the service's, and those bench:store and the load tests open a store of
 * messages with. `partitioned`: keys `groupId:…` or `senderId:…`, kept per conversation or sender in NeDB.
 */
export const MESSAGE_INDEXES: IndexSpec[] = [
	{ fields: { groupSeq: 1 }, unique: true, partitioned: true },
	OUTBOX_INDEX,
	{ fields: { clientKey: 1 }, unique: true, sparse: true, partitioned: true },
	{ fields: { groupVersion: 1 }, unique: true, sparse: true, partitioned: true },
	{ fields: { "replyTo.id": 1 }, sparse: true },
	MENTION_INDEX,
	TEXT_INDEX
];
