import { mkdirSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { Context, ServiceSchema } from "moleculer";
import DbService from "moleculer-db";
import MongooseAdapter from "moleculer-db-adapter-mongoose";
import mongoose from "mongoose";
import { chatConfig, type StorageConfig } from "../lib/config.ts";
import { lockDataDir, unlockDataDir } from "../lib/storage/data-dir-lock.ts";

export interface IndexSpec {
	fields: Record<string, 1 | -1>;
	unique?: boolean;
	sparse?: boolean;
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
	db?: {
		ensureIndex(o: object): Promise<void>;
		setAutocompactionInterval?(ms: number): void;
		stopAutocompaction?(): void;
		count?(q: Query): Promise<number>;
	};
}

/**
 * One collection of a service, over a moleculer-db adapter: NeDB (files under DATA_DIR, or memory)
 * or MongoDB through moleculer-db-adapter-mongoose. Documents carry string `_id`s we generate.
 * Updates take Mongo operators ($set, $inc, $max, $push, $pull, $unset), which both stores implement.
 */
export class Collection<T extends { _id: string }> {
	readonly name: string;
	private readonly adapter: Adapter;
	private readonly mongo: boolean;

	constructor(name: string, adapter: Adapter, mongo: boolean) {
		this.name = name;
		this.adapter = adapter;
		this.mongo = mongo;
	}

	private plain(doc: unknown): T | null {
		if (doc == null) return null;
		return (this.mongo ? this.adapter.entityToObject(doc) : doc) as T;
	}

	private async plainAll(docs: unknown[]): Promise<T[]> {
		return Promise.all(docs.map(d => this.plain(d) as T));
	}

	async insert(doc: T): Promise<T> {
		try {
			return (await this.plain(await this.adapter.insert(doc))) as T;
		} catch (err) {
			if (isDuplicateKey(err)) throw new DuplicateKeyError(this.name, err);
			throw err;
		}
	}

	async findById(id: string): Promise<T | null> {
		return this.plain(await this.adapter.findById(id));
	}

	async findByIds(ids: string[]): Promise<T[]> {
		if (ids.length === 0) return [];
		return this.plainAll(await this.adapter.findByIds(ids));
	}

	async findOne(query: Query): Promise<T | null> {
		return this.plain(await this.adapter.findOne(query));
	}

	async find(query: Query, options: FindOptions = {}): Promise<T[]> {
		return this.plainAll(await this.adapter.find({ query, ...options }));
	}

	async count(query: Query = {}): Promise<number> {
		// moleculer-db's NeDB adapter counts by loading every document; NeDB's own count does not.
		if (!this.mongo && this.adapter.db?.count) return this.adapter.db.count(query);
		return this.adapter.count({ query });
	}

	async updateById(id: string, update: Update): Promise<T | null> {
		try {
			return this.plain(await this.adapter.updateById(id, update));
		} catch (err) {
			if (isDuplicateKey(err)) throw new DuplicateKeyError(this.name, err);
			throw err;
		}
	}

	updateMany(query: Query, update: Update): Promise<number> {
		return this.adapter.updateMany(query, update);
	}

	async removeById(id: string): Promise<void> {
		await this.adapter.removeById(id);
	}

	removeMany(query: Query): Promise<number> {
		return this.adapter.removeMany(query);
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

interface NedbDatastore {
	persistence: { filename: string; inMemoryOnly: boolean; afterSerialization(line: string): string; persistNewStateAsync(docs: object[]): Promise<void> };
	on(event: "compaction.done", listener: () => void): void;
	closeAppendFile?(): Promise<void>;
}

const nedbModel = createRequire(import.meta.url)("@seald-io/nedb/lib/model.js") as { serialize(doc: object): string };

/**
 * NeDB opens, appends to and closes its file on every write; at chat rates that syscall churn is
 * most of the cost of a send. Same bytes, same order (NeDB runs one write at a time per datastore),
 * through a file handle kept open, reopened after each compaction replaces the file.
 */
function appendThroughOpenFile(db: NedbDatastore): void {
	const persistence = db.persistence;
	if (persistence.inMemoryOnly) return;
	let handle: Promise<FileHandle> | null = null;
	const release = () => {
		const old = handle;
		handle = null;
		return old?.then(h => h.close()).catch(() => undefined);
	};
	db.on("compaction.done", () => void release());
	db.closeAppendFile = async () => {
		await release();
	};
	persistence.persistNewStateAsync = async (docs: object[]) => {
		let lines = "";
		for (const doc of docs) lines += persistence.afterSerialization(nedbModel.serialize(doc)) + "\n";
		if (!lines) return;
		handle ??= open(persistence.filename, "a", 0o644);
		await (await handle).write(lines);
	};
}

let mongoUsers = 0;

async function openAdapter(
	storage: StorageConfig,
	name: string,
	spec: CollectionSpec,
	broker: unknown,
	service: { logger: unknown; settings?: unknown }
): Promise<Adapter> {
	if (storage.kind === "mongo") {
		// Documents are shaped by the services; the adapter's global strictQuery would otherwise drop
		// every filter on a field the schema does not declare (and match everything).
		const schema = new mongoose.Schema({ _id: String }, { strict: false, strictQuery: false, versionKey: false, minimize: false });
		for (const index of spec.indexes ?? []) schema.index(index.fields, { unique: !!index.unique, sparse: !!index.sparse });
		const model = mongoose.models[name] ?? mongoose.model(name, schema, name);
		const adapter = new MongooseAdapter(storage.uri, { maxPoolSize: 20 }) as unknown as Adapter;
		adapter.init(broker, { ...service, schema: { model } });
		mongoUsers++;
		await adapter.connect();
		await model.init();
		return adapter;
	}
	const options = storage.kind === "nedb" ? { filename: path.join(storage.dir, `${name}.db`), autoload: false } : { inMemoryOnly: true };
	if (storage.kind === "nedb") {
		mkdirSync(storage.dir, { recursive: true });
		// Before NeDB touches a file: loading rewrites it (`<file>~`, then a rename), which two processes must not do at once.
		await lockDataDir(storage.dir, chatConfig(broker as never).ops.shutdownTimeoutMs + 10_000);
	}
	const adapter = new DbService.MemoryAdapter(options) as unknown as Adapter;
	adapter.init(broker, service);
	await adapter.connect();
	for (const index of spec.indexes ?? []) {
		// NeDB indexes one field; compound Mongo indexes index their first field here.
		const [fieldName] = Object.keys(index.fields);
		await adapter.db!.ensureIndex({ fieldName, unique: !!index.unique, sparse: !!index.sparse });
	}
	if (storage.kind === "nedb") {
		appendThroughOpenFile(adapter.db as unknown as NedbDatastore);
		// NeDB appends every write to its file; compacting keeps the file and the next load small.
		adapter.db!.setAutocompactionInterval?.(10 * 60_000);
	}
	return adapter;
}

async function closeAdapter(storage: StorageConfig, adapter: Adapter): Promise<void> {
	if (storage.kind !== "mongo") {
		adapter.db?.stopAutocompaction?.();
		await (adapter.db as unknown as NedbDatastore | undefined)?.closeAppendFile?.();
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
