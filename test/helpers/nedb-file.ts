import DbService from "moleculer-db";
import { Collection } from "../../mixins/db.mixin.ts";
import type { CompactionOptions } from "../../lib/storage/compaction.ts";
import { GroupCommit, type NedbFile } from "../../lib/storage/group-commit.ts";
import { datastoreWithoutLoadRewrite } from "../../lib/storage/nedb-load.ts";

export type NedbFileDatastore = NedbFile & {
	compactDatafileAsync(): Promise<void>;
	getAllData(): { _id: string }[];
	insertAsync(docs: object | object[]): Promise<unknown>;
	ensureIndex(options: { fieldName: string; unique?: boolean; sparse?: boolean }): Promise<void>;
	on(event: string, listener: () => void): unknown;
};

/** A collection over a NeDB file, opened the way the db mixin opens one (a load that leaves the file as it is). */
export async function openNedbCollection<T extends { _id: string }>(filename: string, compaction: CompactionOptions = {}) {
	const adapter = new DbService.MemoryAdapter(datastoreWithoutLoadRewrite(filename)) as unknown as {
		init(broker: unknown, service: unknown): void;
		connect(): Promise<void>;
		db: NedbFileDatastore;
		commit?: GroupCommit;
	};
	adapter.init(null, { logger: console });
	await adapter.connect();
	const commit = new GroupCommit(adapter.db, compaction);
	adapter.commit = commit;
	return { docs: new Collection<T>("docs", adapter as never, false), commit, db: adapter.db };
}
