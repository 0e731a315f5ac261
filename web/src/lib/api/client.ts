import { request } from './http';
import type {
	AuthResult,
	EditHistory,
	Group,
	GroupAddPolicy,
	GroupBase,
	GroupList,
	GroupType,
	HistoryPage,
	MemberRole,
	Message,
	MessageReceipts,
	NotificationLevel,
	PresenceList,
	PushKey,
	PushSubscriptionRequest,
	Profile,
	ReadState,
	ReactionsEvent,
	SearchRequest,
	SearchResult,
	SendMessageRequest,
	TokenPair,
	UploadLimits,
	User
} from '@scalable-chat/contract';

const REFRESH_TIMEOUT_MS = 15_000;

/** Typed REST endpoints of the API gateway, grouped by domain. */
export const authApi = {
	register: (body: { username: string; password: string; displayName?: string }) =>
		request<AuthResult>('POST', '/auth/register', { body, authenticated: false }),
	login: (body: { username: string; password: string }) =>
		request<AuthResult>('POST', '/auth/login', { body, authenticated: false }),
	// A refresh that hangs holds every tab's refresh lock, and its retry must come while the server still takes it.
	refresh: (refreshToken: string) =>
		request<TokenPair>('POST', '/auth/refresh', {
			body: { refreshToken },
			authenticated: false,
			signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS)
		}),
	logout: (refreshToken: string) =>
		request<{ ok: boolean }>('POST', '/auth/logout', { body: { refreshToken }, authenticated: false }),
	changePassword: (body: { currentPassword: string; newPassword: string }, refreshOn401 = true) =>
		request<AuthResult>('POST', '/auth/password', { body, refreshOn401 }),
	logoutOthers: (refreshOn401 = true) => request<AuthResult>('POST', '/auth/logout-others', { body: {}, refreshOn401 })
};

export const usersApi = {
	search: (search: string, limit = 20) => request<{ items: User[] }>('GET', '/users', { query: { search, limit } }),
	byIds: (ids: string[]) => request<{ items: User[] }>('GET', '/users', { query: { ids: ids.join(',') } }),
	profile: () => request<Profile>('GET', '/users/profile'),
	updateProfile: (body: {
		displayName?: string;
		statusText?: string;
		avatarAssetId?: string | null;
		allowGroupAddsFrom?: GroupAddPolicy;
	}) => request<Profile>('PUT', '/users/profile', { body })
};

const memberPath = (id: string, userId: string) =>
	`/groups/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`;

export const groupsApi = {
	/** One page, newest activity first; `cursor` is the previous page's `next`. */
	list: (limit: number, cursor?: string) =>
		request<GroupList>('GET', '/groups', { query: cursor ? { limit, cursor } : { limit } }),
	get: (id: string) => request<Group>('GET', `/groups/${encodeURIComponent(id)}`),
	create: (body: { name: string; memberIds: string[]; type?: GroupType }) =>
		request<Group>('POST', '/groups', { body }),
	rename: (id: string, name: string) => request<Group>('PUT', `/groups/${encodeURIComponent(id)}`, { body: { name } }),
	/** An image the caller uploaded (purpose avatar) as the group's picture, or null to remove it. */
	setAvatar: (id: string, avatarAssetId: string | null) =>
		request<Group>('PUT', `/groups/${encodeURIComponent(id)}`, { body: { avatarAssetId } }),
	addMembers: (id: string, userIds: string[]) =>
		request<Group>('POST', `/groups/${encodeURIComponent(id)}/members`, { body: { userIds } }),
	removeMember: (id: string, userId: string) => request<Group>('DELETE', memberPath(id, userId)),
	/** Removing oneself: the answer is the conversation as left behind, without a reader's fields. */
	leave: (id: string, myUserId: string) => request<GroupBase>('DELETE', memberPath(id, myUserId)),
	setRole: (id: string, userId: string, role: Exclude<MemberRole, 'owner'>) =>
		request<Group>('PUT', memberPath(id, userId), { body: { role } })
};

export const messagesApi = {
	page: (groupId: string, query: { before?: number; after?: number; around?: number; limit?: number } = {}) =>
		request<HistoryPage>('GET', `/messages/${encodeURIComponent(groupId)}`, { query }),
	send: (body: SendMessageRequest) => request<Message>('POST', '/messages', { body }),
	remove: (id: string) => request<Message>('DELETE', `/messages/${encodeURIComponent(id)}`),
	edit: (id: string, content: string) =>
		request<Message>('PATCH', `/messages/${encodeURIComponent(id)}`, { body: { content } }),
	history: (id: string) => request<EditHistory>('GET', `/messages/${encodeURIComponent(id)}/history`),
	/** The author takes the link preview off; it does not come back for the same link. */
	removePreview: (id: string) => request<Message>('DELETE', `/messages/${encodeURIComponent(id)}/preview`),
	receipts: (id: string) => request<MessageReceipts>('GET', `/messages/${encodeURIComponent(id)}/receipts`),
	react: (id: string, emoji: string, on: boolean) =>
		request<ReactionsEvent>(
			on ? 'PUT' : 'DELETE',
			`/messages/${encodeURIComponent(id)}/reactions/${encodeURIComponent(emoji)}`
		),
	/** Mark as unread from `seq` (the socket's `chat.message.unread` when connected). */
	markUnread: (groupId: string, seq: number) =>
		request<ReadState>('POST', `/messages/${encodeURIComponent(groupId)}/unread`, { body: { seq } })
};

export const searchApi = {
	/** Ranked messages of the caller's conversations; `cursor` is the previous page's `next`. */
	messages: (query: SearchRequest, signal?: AbortSignal) =>
		request<SearchResult>('GET', '/search', { query: { ...query }, signal })
};

export const notificationsApi = {
	/** The caller's level and mute for one conversation; `mutedUntil` left out keeps the mute. */
	set: (groupId: string, body: { level: NotificationLevel; mutedUntil?: string | null }) =>
		request<Group>('PUT', `/groups/${encodeURIComponent(groupId)}/notifications`, { body })
};

export const pushApi = {
	key: () => request<PushKey>('GET', '/push/key'),
	subscribe: (body: PushSubscriptionRequest) => request<{ id: string }>('POST', '/push/subscriptions', { body }),
	unsubscribe: (id: string) => request<{ id: string }>('DELETE', `/push/subscriptions/${encodeURIComponent(id)}`)
};

export const presenceApi = {
	query: (userIds: string[]) => request<PresenceList>('GET', '/presence', { query: { userIds: userIds.join(',') } })
};

export const assetsApi = {
	limits: () => request<UploadLimits>('GET', '/assets/limits', { authenticated: false })
};
