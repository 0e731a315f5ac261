import type { KeyValueStorage } from './browser-storage';

/** For tests: a storage in memory, its entries in `data`. */
export function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
	const data = new Map<string, string>();
	return {
		data,
		getItem: key => data.get(key) ?? null,
		setItem: (key, value) => void data.set(key, value),
		removeItem: key => void data.delete(key)
	};
}

/** For tests: a storage that refuses everything, as a browser with storage disabled or full does. */
export function failingStorage(): KeyValueStorage {
	return {
		getItem: () => {
			throw new Error('denied');
		},
		setItem: () => {
			throw new Error('quota');
		},
		removeItem: () => {
			throw new Error('denied');
		}
	};
}
