/** What the browser keeps across reloads (localStorage; a fake one in tests). */
export type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** localStorage where there is one (not during the build's server-side analysis). */
export const browserStorage = (): KeyValueStorage | null => (typeof localStorage === 'undefined' ? null : localStorage);
