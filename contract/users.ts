/** The public shape of a user, the same over REST, sockets and events. */
export interface User {
	id: string;
	username: string;
	displayName: string;
	avatarUrl: string | null;
	statusText: string;
}

export interface AuthResult {
	user: User;
	accessToken: string;
	refreshToken: string;
	expiresIn: number;
}

export interface TokenPair {
	accessToken: string;
	refreshToken: string;
	/** Seconds until the access token expires. */
	expiresIn: number;
}
