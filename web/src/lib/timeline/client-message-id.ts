/** A unique id for an optimistic message; the server dedupes retries by it. */
export function newClientMessageId(): string {
	if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
	// randomUUID needs a secure context; plain-http LAN deployments fall back to this.
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('');
}
