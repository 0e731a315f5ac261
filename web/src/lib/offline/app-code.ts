/**
 * The app's code comes in chunks, each page's fetched the first time it is shown. Going to a page whose
 * chunk could not be fetched (the network was down) ends on the router's error page; these bring the page
 * once the network is back.
 */

/** Chromium and Firefox, Safari, and vite's CSS preload: how each says a chunk did not arrive. */
const NOT_FETCHED = /dynamically imported module|Importing a module script failed|Unable to preload CSS/i;

export function isChunkLoadFailure(error: unknown): boolean {
	return error instanceof Error && NOT_FETCHED.test(error.message);
}

let waiting = false;

/** Load the page afresh when the browser is back online; nothing while it says it is online (no reload loop). */
export function reloadWhenOnline(): void {
	if (waiting || navigator.onLine) return;
	waiting = true;
	window.addEventListener('online', () => location.reload(), { once: true });
}
