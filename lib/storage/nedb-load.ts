import { appendFile, open } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fillIndex, type LoadedDocuments, type NedbIndex } from "./nedb-index-build.ts";
import { RepeatedValues } from "./repeated-values.ts";
import { useSortedKeysInNedbIndexes } from "./nedb-keys.ts";

const require = createRequire(import.meta.url);
const nedbModel = require("@seald-io/nedb/lib/model.js") as { deserialize(line: string): unknown };
const nedbStorage = require("@seald-io/nedb/lib/storage.js") as {
	ensureDatafileIntegrityAsync(filename: string, mode: number): Promise<void>;
};
const Persistence = require("@seald-io/nedb/lib/persistence.js") as {
	ensureDirectoryExistsAsync(dir: string, mode: number): Promise<void>;
};
const Index = require("@seald-io/nedb/lib/indexes.js") as new (options: IndexOptions) => NedbIndex;
useSortedKeysInNedbIndexes();

/** NeDB's datastore class, the one moleculer-db's adapter uses. */
export const Datastore = require("@seald-io/nedb") as new (options: { filename: string; autoload: false }) => NedbLoadable;

export interface NedbLoadable {
	persistence: { persistCachedDatabaseAsync(): Promise<void> };
	/** What the last load read: lines, lines it could not parse (skipped), and whether the last one lacked its newline. */
	loadReport?: LoadReport;
}

export interface LoadReport {
	lines: number;
	corrupt: number;
	unterminated: boolean;
	/** When the file was last written before this load (ms): about when the process that wrote it stopped. */
	modifiedAt: number;
}

interface IndexOptions {
	fieldName: string;
	unique?: boolean;
	sparse?: boolean;
	expireAfterSeconds?: number;
}

/** The parts of NeDB's datastore (@seald-io/nedb/lib/datastore.js) its load touches. */
interface LoadingDatastore {
	indexes: Record<string, NedbIndex>;
	executor: { processBuffer(): void; pushAsync(task: () => Promise<void>, forceQueuing: boolean): Promise<void> };
	persistence: {
		filename: string;
		corruptAlertThreshold: number;
		modes: { fileMode: number; dirMode: number };
		loadDatabaseAsync(): Promise<void>;
		persistNewStateAsync(docs: object[]): Promise<void>;
	};
	getAllData(): object[];
	_resetIndexes(docs?: object[]): void;
	ensureIndexAsync(options: IndexOptions): Promise<void>;
}

/** `{"$$date": ms}` objects back to Dates, in place. */
function revive(value: unknown): unknown {
	if (typeof value !== "object" || value === null) return value;
	if (Array.isArray(value)) {
		for (let i = 0; i < value.length; i++) value[i] = revive(value[i]);
		return value;
	}
	const object = value as Record<string, unknown>;
	if (typeof object.$$date === "number" && Object.keys(object).length === 1) return new Date(object.$$date);
	for (const key in object) object[key] = revive(object[key]);
	return value;
}

/**
 * Reading a datafile, NeDB parses each line with a JSON.parse reviver that runs for every value; a third of a
 * start with a million messages. A plain JSON.parse and one walk that turns `{"$$date": ms}` back into Dates
 * reads the same documents (lines with dates only are walked).
 */
function deserialize(line: string): unknown {
	return line.includes('"$$date"') ? revive(JSON.parse(line)) : JSON.parse(line);
}

/** NeDB's own load (datastores not made by `datastoreWithoutLoadRewrite`) with the fast deserialize. */
export function useFastDeserialize(): void {
	nedbModel.deserialize = deserialize;
}

/** A property key that JavaScript objects order first, ascending (NeDB's documents-by-_id object does). */
function isArrayIndex(key: string): boolean {
	return /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;
}

interface Datafile {
	docs: object[];
	indexes: Record<string, IndexOptions>;
	loaded: LoadedDocuments;
	report: LoadReport;
}

/** Bytes read at a time; a longer line grows the buffer. */
const READ_CHUNK = 4 << 20;
/**
 * Bytes of lines decoded into one string. Small enough for V8's young generation: a string of megabytes is
 * allocated in its large-object space, which only a full GC frees, and a load makes hundreds of them.
 */
const DECODED_PIECE = 48 << 10;

/**
 * The documents and index definitions of a datafile, as NeDB's `treatRawStreamAsync` finds them: later lines
 * replace earlier ones with the same `_id`, `$$deleted` lines remove them, `$$indexCreated`/`$$indexRemoved`
 * lines define the indexes, and up to `corruptAlertThreshold` of the lines may be unreadable. Documents come in
 * the order NeDB's object keyed by `_id` gives them. Read in chunks of bytes split at newlines only (NeDB also
 * splits at U+2028, U+2029 and U+0085, which JSON.stringify leaves unescaped in strings: such a document is
 * corrupt to NeDB's own load and read whole here). Strings repeated across documents are kept once.
 */
async function readDatafile(filename: string, corruptAlertThreshold: number): Promise<Datafile> {
	const byId = new Map<string, object>();
	const indexes: Record<string, IndexOptions> = {};
	const repeated = new RepeatedValues();
	let lines = 0;
	let corrupt = 0;
	let arrayIndexIds = false;
	let stringIds = true;
	const take = (line: string) => {
		if (line === "" || line === "\r") return;
		lines++;
		try {
			const doc = deserialize(line) as Record<string, any>;
			if (doc._id) {
				let id = doc._id;
				if (typeof id !== "string") {
					id = String(id);
					stringIds = false;
				}
				if (doc.$$deleted === true) byId.delete(id);
				else {
					// Replacing keeps the first position, as an object's key does.
					byId.set(id, repeated.shareIn(doc));
					if (!arrayIndexIds && id.charCodeAt(0) <= 57 && isArrayIndex(id)) arrayIndexIds = true;
				}
			} else if (doc.$$indexCreated && doc.$$indexCreated.fieldName != null) indexes[doc.$$indexCreated.fieldName] = doc.$$indexCreated;
			else if (typeof doc.$$indexRemoved === "string") delete indexes[doc.$$indexRemoved];
		} catch {
			corrupt++;
		}
	};
	const file = await open(filename, "r");
	const modifiedAt = (await file.stat()).mtimeMs;
	let unterminated = false;
	try {
		let buffer = Buffer.allocUnsafe(READ_CHUNK);
		let held = 0;
		for (;;) {
			if (held === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
			const { bytesRead } = await file.read(buffer, held, buffer.length - held, null);
			const end = held + bytesRead;
			if (bytesRead === 0) {
				unterminated = end > 0;
				if (end > 0) take(buffer.toString("utf8", 0, end));
				break;
			}
			const lastNewline = buffer.lastIndexOf(10, end - 1);
			if (lastNewline < held) {
				held = end;
				continue;
			}
			// A newline byte never occurs inside a UTF-8 sequence: each piece of whole lines decodes on its own.
			for (let from = 0; from < lastNewline;) {
				const next = buffer.indexOf(10, from + DECODED_PIECE);
				const to = next < 0 || next > lastNewline ? lastNewline : next;
				for (const line of buffer.toString("utf8", from, to).split("\n")) take(line);
				from = to + 1;
			}
			held = end - lastNewline - 1;
			buffer.copy(buffer, 0, lastNewline + 1, end);
		}
	} finally {
		await file.close();
	}
	if (lines > 0 && corrupt / lines > corruptAlertThreshold) {
		const rate = corrupt / lines;
		// NeDB's error, word for word.
		const error = Object.assign(
			new Error(
				`${Math.floor(100 * rate)}% of the data file is corrupt, more than given corruptAlertThreshold (${Math.floor(100 * corruptAlertThreshold)}%). Cautiously refusing to start NeDB to prevent dataloss.`
			),
			{ corruptionRate: rate, corruptItems: corrupt, dataLength: lines }
		);
		throw error;
	}
	let docs: object[] = [...byId.values()];
	if (arrayIndexIds) {
		const ids = [...byId.keys()];
		const first = ids.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
		docs = [...first.map(id => byId.get(id)!), ...docs.filter((_, i) => !isArrayIndex(ids[i]))];
	}
	return { docs, indexes, loaded: { byId: stringIds ? byId : undefined }, report: { lines, corrupt, unterminated, modifiedAt } };
}

/**
 * A datastore that loads its datafile as NeDB does, to the same documents and indexes, but faster and smaller:
 * - the file is read in large chunks, each line parsed by a plain JSON.parse (see `useFastDeserialize`);
 * - strings repeated across documents (conversation and sender ids) are held once, and all empty arrays are one
 *   (`RepeatedValues`);
 * - each index is built in bulk (`fillIndex`) instead of one insert per document, also when `ensureIndex`
 *   adds an index to documents already loaded;
 * - the whole datafile is not rewritten straight away (NeDB compacts on every load: a second copy of every
 *   document serialized, and the file written again, before the service can start). The file as it is loads
 *   to the same documents; the periodic compaction rewrites it later, off the start.
 */
export function datastoreWithoutLoadRewrite(filename: string): NedbLoadable {
	const db = new Datastore({ filename, autoload: false }) as unknown as LoadingDatastore & NedbLoadable;
	const persistence = db.persistence;
	persistence.loadDatabaseAsync = async () => {
		db._resetIndexes();
		await Persistence.ensureDirectoryExistsAsync(path.dirname(persistence.filename), persistence.modes.dirMode);
		await nedbStorage.ensureDatafileIntegrityAsync(persistence.filename, persistence.modes.fileMode);
		const { docs, indexes, loaded, report } = await readDatafile(persistence.filename, persistence.corruptAlertThreshold);
		// A write cut short (a crash, a full disk) leaves a last line without its newline. The next append must
		// not continue that line: the line would stay corrupt, and the new document in it lost at the next load.
		if (report.unterminated) await appendFile(persistence.filename, "\n");
		db.loadReport = report;
		for (const fieldName of Object.keys(indexes)) db.indexes[fieldName] = new Index(indexes[fieldName]);
		try {
			for (const index of Object.values(db.indexes)) {
				fillIndex(index, docs, loaded);
				// The `_id` index holds what the map held: its table can go before the next index needs room.
				if (index.fieldName === "_id") loaded.byId = undefined;
			}
		} catch (err) {
			db._resetIndexes();
			throw err;
		}
		db.executor.processBuffer();
	};
	const ensureIndexAsync = db.ensureIndexAsync;
	db.ensureIndexAsync = async function (this: LoadingDatastore, options: IndexOptions) {
		if (!options?.fieldName || this.indexes[options.fieldName] || options.expireAfterSeconds !== undefined) return ensureIndexAsync.call(this, options);
		const index = new Index(options);
		fillIndex(index, this.getAllData());
		this.indexes[options.fieldName] = index;
		await this.executor.pushAsync(() => this.persistence.persistNewStateAsync([{ $$indexCreated: options }]), true);
	};
	return db;
}
