import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Context, ServiceSchema } from "moleculer";
import DbService from "moleculer-db";
import MongooseAdapter from "moleculer-db-adapter-mongoose";
import mongoose from "mongoose";
import { chatConfig, type StorageConfig } from "../lib/config.ts";
import { lockDataDir, unlockDataDir } from "../lib/storage/data-dir-lock.ts";
import { GroupCommit, type NedbFile } from "../lib/storage/group-commit.ts";
import { datastoreWithoutLoadRewrite, useFastDeserialize, type NedbLoadable } from "../lib/storage/nedb-load.ts";
import { nedbIndexesOf, partitionIndexKeys, useSortedKeysInNedbIndexes } from "../lib/storage/nedb-keys.ts";

useFastDeserialize();
useSortedKeysInNedbIndexes();

export interface IndexSpec {
	/** `"text"`: MongoDB's full-text index (one a collection); NeDB has none and skips it. */
	fields: Record<string, 1 | -1 | "text">;
	unique?: boolean;
	sparse?: boolean;
	/** More MongoDB index options, e.g. `default_language` of a text index. */
	mongo?: Record<string, unknown>;
	/**
	 * NeDB: the keys are `partition:suffix` strings (`groupId:seq`), kept per partition, which makes an insert
	 * cheap where keys of many partitions interleave (lib/storage/partitioned-keys.ts). Answers stay the same.
	 */
	partitioned?: boolean;
}

export interface CollectionSpec {
	indexes?: IndexSpec[];
}

export type Query = Record<string, unknown>;
export type Update = Record<string, unknown>;

export interface FindOptions {
	/** moleculer-db style: ["-seq", "name"] */
	sort?: string[];
	limit?: number;
	offset?: number;
}

/** A unique index refused the write. */
export class DuplicateKeyError extends Error {
	readonly collection: string;
	constructor(collection: string, cause: unknown) {
		super(`duplicate key in ${collection}`, { cause });
		this.collection = collection;
	}
}

function isDuplicateKey(err: unknown): boolean {
	const e = err as { errorType?: string; code?: number };
	return e?.errorType === "uniqueViolated" || e?.code === 11000;
}

interface Adapter {
	init(broker: unknown, service: unknown): void;
	connect(): Promise<void>;
	disconnect(): Promise<void>;
	find(params: { query?: Query; sort?: string[]; limit?: number; offset?: number }): Promise<unknown[]>;
	findOne(query: Query): Promise<unknown>;
	findById(id: string): Promise<unknown>;
	findByIds(ids: string[]): Promise<unknown[]>;
	count(params: { query?: Query }): Promise<number>;
	insert(doc: unknown): Promise<unknown>;
	insertMany(docs: unknown[]): Promise<unknown[]>;
	updateMany(query: Query, update: Update): Promise<number>;
	updateById(id: string, update: Update): Promise<unknown>;
	removeMany(query: Query): Promise<number>;
	removeById(id: string): Promise<unknown>;
	entityToObject(doc: unknown): unknown;
	/** NeDB files: the batched appends whose write every answer waits for. */
	commit?: GroupCommit;
	db?: {
		ensureIndex(o: object): Promise<void>;
		count?(q: Query): Promise<number>;
	};
}

/** NeDB's own promise API: moleculer-db's NeDB adapter goes through its deprecated callback API (util.callbackify and a warning per update). */
interface NedbApi {
	insertAsync(doc: object): Promise<unknown>;
	findOneAsync(query: Query): Promise<unknown>;
	findAsync(query: Query): NedbCursor;
	countAsync(query: Query): PromiseLike<number>;
	updateAsync(
		query: Query,
		update: Update,
		options: { multi?: boolean; returnUpdatedDocs?: boolean }
	): Promise<{ numAffected: number; affectedDocuments: unknown }>;
	removeAsync(query: Query, options: { multi?: boolean }): Promise<number>;
}

interface NedbCursor extends PromiseLike<unknown[]> {
	sort(fields: Record<string, 1 | -1>): NedbCursor;
	skip(n: number): NedbCursor;
	limit(n: number): NedbCursor;
}

/** moleculer-db's operations over NeDB's promise API, same semantics. */
function nedbOperations(
	db: NedbApi
): Pick<Adapter, "insert" | "findOne" | "findById" | "findByIds" | "find" | "updateMany" | "updateById" | "removeMany" | "removeById"> {
	return {
		insert: doc => db.insertAsync(doc as object),
		findOne: query => db.findOneAsync(query),
		findById: id => db.findOneAsync({ _id: id }),
		findByIds: async ids => db.findAsync({ _id: { $in: ids } }),
		async find({ query, sort, limit, offset }) {
			let cursor = db.findAsync(query ?? {});
			if (sort) cursor = cursor.sort(Object.fromEntries(sort.map(f => (f.startsWith("-") ? [f.slice(1), -1] : [f, 1]))));
			if (limit && limit > 0) cursor = cursor.limit(limit);
			if (offset && offset > 0) cursor = cursor.skip(offset);
			return cursor;
		},
		updateMany: async (query, update) => (await db.updateAsync(query, update, { multi: true })).numAffected,
		updateById: async (id, update) => (await db.updateAsync({ _id: id }, update, { returnUpdatedDocs: true })).affectedDocuments,
		removeMany: query => db.removeAsync(query, { multi: true }),
		removeById: id => db.removeAsync({ _id: id }, {})
	};
}

/**
 * One collection of a service, over a moleculer-db adapter: NeDB (files under DATA_DIR, or memory)
 * or MongoDB through moleculer-db-adapter-mongoose. Documents carry string `_id`s we generate.
 * Updates take Mongo operators ($set, $inc, $max, $push, $pull, $unset), which both stores implement.
 * Over NeDB files every answer, read or write, waits for the group commit of what was queued before it.
 */
export class Collection<T extends { _id: string }> {
	readonly name: string;
	private readonly adapter: Adapter;
	private readonly mongo: boolean;
	/** The adapter's operations (NeDB: straight to the datastore). */
	private readonly ops: Pick<Adapter, "insert" | "findOne" | "findById" | "findByIds" | "find" | "updateMany" | "updateById" | "removeMany" | "removeById">;

	constructor(name: string, adapter: Adapter, mongo: boolean) {
		this.name = name;
		this.adapter = adapter;
		this.mongo = mongo;
		this.ops = mongo || !adapter.db ? adapter : nedbOperations(adapter.db as unknown as NedbApi);
	}

	/** Resolves once what the store holds is on its way to disk (see GroupCommit); at once without a file. */
	private written<R>(result: R): R | Promise<R> {
		const pending = this.adapter.commit?.pending();
		return pending ? pending.then(() => result) : result;
	}

	private plain(doc: unknown): T | null {
		if (doc == null) return null;
		return (this.mongo ? this.adapter.entityToObject(doc) : doc) as T;
	}

	private async plainAll(docs: unknown[]): Promise<T[]> {
		return Promise.all(docs.map(d => this.plain(d) as T));
	}

	/**
	 * When the store was last written before this process opened it (ms), or null where that is unknown:
	 * NeDB, its datafile's time as loaded; MongoDB, the time of the newest document by `_id` (for collections
	 * whose ids are ordered, see newOrderedId).
	 */
	async lastWrittenBeforeStart(): Promise<number | null> {
		if (!this.mongo) return (this.adapter.db as unknown as NedbLoadable | undefined)?.loadReport?.modifiedAt ?? null;
		const [newest] = await this.find({}, { sort: ["-_id"], limit: 1 });
		return newest ? parseInt(newest._id.slice(0, 12), 16) : null;
	}

	async insert(doc: T): Promise<T> {
		try {
			return this.plain(await this.written(await this.ops.insert(doc))) as T;
		} catch (err) {
			if (isDuplicateKey(err)) throw new DuplicateKeyError(this.name, err);
			throw err;
		}
	}

	/**
	 * Stores `doc` and answers as soon as the store holds it, before its line is written: `written` settles once
	 * it is (see GroupCommit; at once where the store's own answer already means that). For a writer that hands
	 * the next write its turn meanwhile and answers its own caller only after `written`.
	 */
	async insertQueued(doc: T): Promise<{ doc: T; written: Promise<void> }> {
		try {
			const stored = this.plain(await this.ops.insert(doc)) as T;
			return { doc: stored, written: this.adapter.commit?.pending() ?? Promise.resolve() };
		} catch (err) {
			if (isDuplicateKey(err)) throw new DuplicateKeyError(this.name, err);
			throw err;
		}
	}

	async findById(id: string): Promise<T | null> {
		return this.plain(await this.written(await this.ops.findById(id)));
	}

	async findByIds(ids: string[]): Promise<T[]> {
		if (ids.length === 0) return [];
		return this.plainAll(await this.written(await this.ops.findByIds(ids)));
	}

	async findOne(query: Query): Promise<T | null> {
		return this.plain(await this.written(await this.ops.findOne(query)));
	}

	async find(query: Query, options: FindOptions = {}): Promise<T[]> {
		return this.plainAll(await this.written(await this.ops.find({ query, ...options })));
	}

	async count(query: Query = {}): Promise<number> {
		// moleculer-db's NeDB adapter counts by loading every document; NeDB's own count does not.
		if (!this.mongo && this.adapter.db) return this.written(await (this.adapter.db as unknown as NedbApi).countAsync(query));
		return this.adapter.count({ query });
	}

	async updateById(id: string, update: Update): Promise<T | null> {
		try {
			return this.plain(await this.written(await this.ops.updateById(id, update)));
		} catch (err) {
			if (isDuplicateKey(err)) throw new DuplicateKeyError(this.name, err);
			throw err;
		}
	}

	async updateMany(query: Query, update: Update): Promise<number> {
		return this.written(await this.ops.updateMany(query, update));
	}

	async removeById(id: string): Promise<void> {
		await this.written(await this.ops.removeById(id));
	}

	async removeMany(query: Query): Promise<number> {
		return this.written(await this.ops.removeMany(query));
	}

	/**
	 * Up to `limit` documents matching `query` whose `_id` comes after `afterId`, in `_id` order: a whole
	 * collection read in pages. NeDB answers an `_id` range (or no range) from its `_id` index in key order;
	 * asking it to sort would sort every remaining document again for each page.
	 */
	pageById(query: Query, afterId: string | undefined, limit: number): Promise<T[]> {
		const range = afterId ? { ...query, _id: { $gt: afterId } } : query;
		return this.find(range, this.mongo ? { sort: ["_id"], limit } : { limit });
	}

	/**
	 * MongoDB only: documents matching `query` and the `$text` search of the collection's text index, best
	 * textScore first (then newest), `offset` skipped.
	 */
	async searchText(search: string, query: Query, { offset, limit }: { offset: number; limit: number }): Promise<T[]> {
		if (!this.mongo) throw new Error(`${this.name}: text search needs MongoDB's text index`);
		const model = (this.adapter as unknown as { model: mongoose.Model<unknown> }).model;
		const docs = await model
			.find({ ...query, $text: { $search: search } }, { score: { $meta: "textScore" } })
			.sort({ score: { $meta: "textScore" }, createdAt: -1, _id: 1 })
			.skip(offset)
			.limit(limit)
			.lean<(T & { score?: number })[]>();
		return docs.map(({ score: _score, ...doc }) => doc as unknown as T);
	}

	/** Inserts `doc` unless `_id` exists; returns the stored document either way. */
	async insertIfAbsent(doc: T): Promise<T> {
		const existing = await this.findById(doc._id);
		if (existing) return existing;
		try {
			return await this.insert(doc);
		} catch (err) {
			if (err instanceof DuplicateKeyError) return (await this.findById(doc._id)) as T;
			throw err;
		}
	}
}

let mongoUsers = 0;

async function openAdapter(
	storage: StorageConfig,
	name: string,
	spec: CollectionSpec,
	broker: unknown,
	service: { logger: { error(...args: unknown[]): void; warn(...args: unknown[]): void }; settings?: unknown }
): Promise<Adapter> {
	if (storage.kind === "mongo") {
		// Documents are shaped by the services; the adapter's global strictQuery would otherwise drop
		// every filter on a field the schema does not declare (and match everything).
		const schema = new mongoose.Schema({ _id: String }, { strict: false, strictQuery: false, versionKey: false, minimize: false });
		for (const index of spec.indexes ?? []) schema.index(index.fields, { unique: !!index.unique, sparse: !!index.sparse, ...index.mongo });
		const model = mongoose.models[name] ?? mongoose.model(name, schema, name);
		const adapter = new MongooseAdapter(storage.uri, { maxPoolSize: 20 }) as unknown as Adapter;
		adapter.init(broker, { ...service, schema: { model } });
		mongoUsers++;
		await adapter.connect();
		await model.init();
		return adapter;
	}
	const options = storage.kind === "nedb" ? datastoreWithoutLoadRewrite(path.join(storage.dir, `${name}.db`)) : { inMemoryOnly: true };
	if (storage.kind === "nedb") {
		mkdirSync(storage.dir, { recursive: true });
		// Before NeDB touches a file: loading rewrites it (`<file>~`, then a rename), which two processes must not do at once.
		await lockDataDir(storage.dir, chatConfig(broker as never).ops.shutdownTimeoutMs + 10_000);
	}
	const indexes = nedbIndexesOf(spec.indexes ?? []);
	// Before the load builds the indexes the datafile names.
	partitionIndexKeys(indexes);
	const adapter = new DbService.MemoryAdapter(options) as unknown as Adapter;
	adapter.init(broker, service);
	await adapter.connect();
	for (const { fieldName, unique, sparse } of indexes) await adapter.db!.ensureIndex({ fieldName, unique, sparse });
	const report = (options as NedbLoadable).loadReport;
	if (report?.corrupt)
		service.logger.warn(
			`${name}.db: ${report.corrupt} of ${report.lines} line(s) could not be read and were skipped` +
				(report.unterminated ? " (the last one was cut short, as by a crash or a full disk)" : "")
		);
	if (storage.kind === "nedb") {
		adapter.commit = new GroupCommit(adapter.db as unknown as NedbFile);
		// NeDB appends every write to its file; compacting keeps the file and the next load small.
		adapter.commit.compaction.watch(err => service.logger.error(`compacting ${name}.db failed`, err));
	}
	return adapter;
}

async function closeAdapter(storage: StorageConfig, adapter: Adapter): Promise<void> {
	if (storage.kind !== "mongo") {
		// Before the file closes and the data directory is unlocked: no rename may follow either.
		await adapter.commit?.compaction.stop();
		adapter.commit?.close();
		if (storage.kind === "nedb") unlockDataDir(storage.dir);
		return;
	}
	// Every Mongo collection shares mongoose's one connection: close it with its last user.
	if (--mongoUsers === 0) await mongoose.disconnect();
	void adapter;
}

export type Collections<N extends string> = { [K in N]: Collection<any> };

export interface DbMethods {
	cleanCache(...patterns: string[]): Promise<void>;
}

/**
 * Gives a service `this.db.<collection>` for each named collection, opened on start and closed on stop,
 * and `this.cleanCache(...)`, which also reaches nodes whose cacher is local memory.
 */
export function DbCollections<N extends string>(specs: Record<N, CollectionSpec>): Partial<ServiceSchema> {
	return {
		events: {
			async "$chat.cache.clean"(this: any, ctx: Context<{ patterns: string[] }>) {
				if (ctx.nodeID === this.broker.nodeID) return;
				await Promise.all(ctx.params.patterns.map((p: string) => this.broker.cacher?.clean(p)));
			}
		},
		methods: {
			async cleanCache(this: any, ...patterns: string[]) {
				const cacher = this.broker.cacher;
				if (!cacher) return;
				await Promise.all(patterns.map(p => cacher.clean(p)));
				// A shared Redis cacher is already clean everywhere; local memory cachers on other nodes are not.
				if (this.broker.transit && cacher.constructor.name !== "RedisCacher") this.broker.broadcast("$chat.cache.clean", { patterns });
			}
		},
		async started(this: any) {
			const storage = chatConfig(this.broker).storage;
			this.db = {};
			this.dbAdapters = [];
			for (const [name, spec] of Object.entries(specs) as [N, CollectionSpec][]) {
				const adapter = await openAdapter(storage, name, spec, this.broker, this);
				this.dbAdapters.push(adapter);
				this.db[name] = new Collection(name, adapter, storage.kind === "mongo");
			}
		},
		async stopped(this: any) {
			const storage = chatConfig(this.broker).storage;
			for (const adapter of this.dbAdapters ?? []) await closeAdapter(storage, adapter);
			this.dbAdapters = [];
		}
	};
}
