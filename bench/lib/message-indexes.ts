/**
 * The NeDB indexes of the messages collection, as the db mixin makes them from services/messages/messages.service.ts
 * (its text index has none in NeDB): what a store of messages holds besides its documents.
 */
export const MESSAGE_INDEXES: { fieldName: string; unique?: boolean; sparse?: boolean }[] = [
	{ fieldName: "groupSeq", unique: true },
	{ fieldName: "outboxNext", sparse: true },
	{ fieldName: "clientKey", unique: true, sparse: true },
	{ fieldName: "groupVersion", unique: true, sparse: true },
	{ fieldName: "replyTo.id", sparse: true },
	{ fieldName: "mentionKeys", sparse: true }
];

/** The fields of those indexes whose keys the service keeps per partition (IndexSpec `partitioned`). */
export const PARTITIONED_MESSAGE_FIELDS = ["groupSeq", "clientKey", "groupVersion"];
