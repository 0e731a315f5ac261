export type PresenceStatus = "online" | "away" | "offline";
export type ConnectionStatus = Exclude<PresenceStatus, "offline">;

export interface Presence {
	userId: string;
	status: PresenceStatus;
	/** Epoch ms of the last connect, status change or disconnect; null for a user never seen. */
	lastSeen: number | null;
}

export interface PresenceList {
	items: Presence[];
}

export interface TypingEvent {
	groupId: string;
	userId: string;
	typing: boolean;
}
