/** The public shape of a user, the same over REST, sockets and events. */
export interface User {
	id: string;
	username: string;
	displayName: string;
	avatarUrl: string | null;
	statusText: string;
}

export interface UserDoc {
	_id: string;
	username: string;
	displayName: string;
	displayNameLower: string;
	avatarUrl: string | null;
	avatarAssetId: string | null;
	statusText: string;
	createdAt: Date;
	updatedAt: Date;
}

export const USERNAME_PATTERN = /^[a-z0-9_.-]{3,32}$/;
