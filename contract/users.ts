/** The public shape of a user, the same over REST, sockets and events. */
export interface User {
	id: string;
	username: string;
	displayName: string;
	avatarUrl: string | null;
	statusText: string;
}

/** Who may put me into a group: anyone, or only people I already share a conversation with (that they did not put me in). */
export type GroupAddPolicy = "everyone" | "contacts";

/** The signed-in user's own profile: the public shape plus private settings. */
export interface Profile extends User {
	allowGroupAddsFrom: GroupAddPolicy;
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
