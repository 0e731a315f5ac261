import type { OutboxEntry } from './outbox-queue';

/** Where unsent messages wait across reloads: IndexedDB, or memory where the browser has none. */
export interface OutboxStore {
	load(senderId: string): Promise<OutboxEntry[]>;
	put(entry: OutboxEntry): Promise<void>;
	/**
	 * Writes the entry only while it is still stored, and says whether it was: another tab of the user may have
	 * sent or cancelled it, and a write must not bring it back.
	 */
	update(entry: OutboxEntry): Promise<boolean>;
	delete(clientMessageId: string): Promise<void>;
	/** Everything of one user (at logout: nothing of theirs stays behind in the browser). */
	purge(senderId: string): Promise<void>;
}

const DB_NAME = 'chat-outbox';
const STORE = 'messages';
const BY_SENDER = 'senderId';

function done<T>(request: IDBRequest<T>): Promise<T> {
	return new Promise((resolve, reject) => {
		request.onsuccess = () => resolve(request.result);
		request.onerror = () => reject(request.error);
	});
}

/** $state proxies cannot be cloned into IndexedDB: store a plain copy. */
const plain = (entry: OutboxEntry): OutboxEntry => JSON.parse(JSON.stringify(entry));

function committed(tx: IDBTransaction): Promise<void> {
	return new Promise((resolve, reject) => {
		tx.oncomplete = () => resolve();
		tx.onerror = () => reject(tx.error);
		tx.onabort = () => reject(tx.error ?? new DOMException('Transaction aborted', 'AbortError'));
	});
}

class IndexedDbOutboxStore implements OutboxStore {
	#db: Promise<IDBDatabase> | null = null;

	#open(): Promise<IDBDatabase> {
		this.#db ??= new Promise((resolve, reject) => {
			const request = indexedDB.open(DB_NAME, 1);
			request.onupgradeneeded = () => {
				const store = request.result.createObjectStore(STORE, { keyPath: 'clientMessageId' });
				store.createIndex(BY_SENDER, 'senderId');
			};
			request.onsuccess = () => resolve(request.result);
			request.onerror = () => reject(request.error);
		});
		this.#db.catch(() => (this.#db = null));
		return this.#db;
	}

	async #write(change: (store: IDBObjectStore) => void): Promise<void> {
		const tx = (await this.#open()).transaction(STORE, 'readwrite');
		change(tx.objectStore(STORE));
		await committed(tx);
	}

	async load(senderId: string): Promise<OutboxEntry[]> {
		const tx = (await this.#open()).transaction(STORE, 'readonly');
		return done(tx.objectStore(STORE).index(BY_SENDER).getAll(senderId)) as Promise<OutboxEntry[]>;
	}

	put(entry: OutboxEntry): Promise<void> {
		return this.#write(store => store.put(plain(entry)));
	}

	async update(entry: OutboxEntry): Promise<boolean> {
		let found = false;
		await this.#write(store => {
			// One transaction: nothing can delete it between the look and the write.
			const request = store.getKey(entry.clientMessageId);
			request.onsuccess = () => {
				found = request.result !== undefined;
				if (found) store.put(plain(entry));
			};
		});
		return found;
	}

	delete(clientMessageId: string): Promise<void> {
		return this.#write(store => store.delete(clientMessageId));
	}

	async purge(senderId: string): Promise<void> {
		const keys = await done(
			(await this.#open()).transaction(STORE, 'readonly').objectStore(STORE).index(BY_SENDER).getAllKeys(senderId)
		);
		await this.#write(store => keys.forEach(key => store.delete(key)));
	}
}

class MemoryOutboxStore implements OutboxStore {
	#entries = new Map<string, OutboxEntry>();

	async load(senderId: string): Promise<OutboxEntry[]> {
		return [...this.#entries.values()].filter(e => e.senderId === senderId);
	}
	async put(entry: OutboxEntry): Promise<void> {
		this.#entries.set(entry.clientMessageId, entry);
	}
	async update(entry: OutboxEntry): Promise<boolean> {
		if (!this.#entries.has(entry.clientMessageId)) return false;
		this.#entries.set(entry.clientMessageId, entry);
		return true;
	}
	async delete(clientMessageId: string): Promise<void> {
		this.#entries.delete(clientMessageId);
	}
	async purge(senderId: string): Promise<void> {
		for (const [id, e] of this.#entries) if (e.senderId === senderId) this.#entries.delete(id);
	}
}

export function openOutboxStore(): OutboxStore {
	return typeof indexedDB === 'undefined' ? new MemoryOutboxStore() : new IndexedDbOutboxStore();
}
