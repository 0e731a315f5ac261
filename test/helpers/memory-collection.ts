import DbService from "moleculer-db";
import { Collection, type IndexSpec } from "../../mixins/db.mixin.ts";

/**
 * A Collection over an in-memory NeDB datastore, without a broker: the same query and update semantics
 * (and unique-index errors) as a service's `this.db.<name>` in tests, for unit tests of the algorithms.
 */
export async function memoryCollection<T extends { _id: string }>(name: string, indexes: IndexSpec[] = []): Promise<Collection<T>> {
	const adapter = new DbService.MemoryAdapter({ inMemoryOnly: true }) as unknown as {
		init(broker: unknown, service: unknown): void;
		connect(): Promise<void>;
		db: { ensureIndex(o: object): Promise<void> };
	};
	adapter.init(null, { logger: console });
	await adapter.connect();
	for (const index of indexes) await adapter.db.ensureIndex({ fieldName: Object.keys(index.fields)[0], unique: !!index.unique, sparse: !!index.sparse });
	return new Collection<T>(name, adapter as never, false);
}
