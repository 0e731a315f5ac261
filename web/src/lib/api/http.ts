import { ApiError } from './errors';

/** How the HTTP client obtains credentials; provided by the session. */
export interface AuthProvider {
	accessToken(): string | null;
	/** Obtain a fresh access token; resolves false when the session is gone. */
	refresh(): Promise<boolean>;
}

let auth: AuthProvider | null = null;

export function setAuthProvider(provider: AuthProvider | null): void {
	auth = provider;
}

export interface RequestOptions {
	query?: Record<string, string | number | undefined | null>;
	body?: unknown;
	/** Send the bearer token and retry once after a refresh on 401. Default true. */
	authenticated?: boolean;
	/** With `authenticated`, whether a 401 refreshes and retries (default true); false for a caller that holds the refresh lock. */
	refreshOn401?: boolean;
	signal?: AbortSignal;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
	const params = new URLSearchParams();
	for (const [key, value] of Object.entries(query ?? {})) {
		if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
	}
	const qs = params.toString();
	return `/api${path}${qs ? `?${qs}` : ''}`;
}

async function toApiError(response: Response): Promise<ApiError> {
	let body: Record<string, unknown> = {};
	try {
		body = await response.json();
	} catch {
		// Not JSON (e.g. a proxy error page): fall back to the status text.
		body = { message: response.statusText };
	}
	return new ApiError(response.status, body);
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
	const authenticated = options.authenticated ?? true;
	const send = () => {
		const headers: Record<string, string> = { Accept: 'application/json' };
		if (options.body !== undefined) headers['Content-Type'] = 'application/json';
		const token = authenticated ? auth?.accessToken() : null;
		if (token) headers.Authorization = `Bearer ${token}`;
		return fetch(apiUrl(path, options.query), {
			method,
			headers,
			body: options.body === undefined ? undefined : JSON.stringify(options.body),
			signal: options.signal
		});
	};

	let response = await send();
	if (response.status === 401 && authenticated && options.refreshOn401 !== false && auth && (await auth.refresh())) {
		response = await send();
	}
	if (!response.ok) throw await toApiError(response);
	if (response.status === 204) return undefined as T;
	return (await response.json()) as T;
}
