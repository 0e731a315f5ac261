export type PresenceStatus = "online" | "away" | "offline";
export type ConnectionStatus = Exclude<PresenceStatus, "offline">;

export interface Presence {
	userId: string;
	status: PresenceStatus;
	/** ISO 8601 time of the last connect, status change or disconnect; null for a user never seen. */
	lastSeen: string | null;
}

export interface PresenceList {
	items: Presence[];
}

export interface TypingEvent {
	groupId: string;
	userId: string;
	typing: boolean;
}
