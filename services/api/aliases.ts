/** The gateway's routes (services/api.service.ts builds them): which path and verb call which action. */

/** REST routes: the contract in docs/API.md. Everything else under /api is a 404. */
export const REST_ALIASES = {
	"POST auth/register": "auth.register",
	"POST auth/login": "auth.login",
	"POST auth/refresh": "auth.refresh",
	"POST auth/logout": "auth.logout",
	"POST auth/password": "auth.changePassword",
	"POST auth/logout-others": "auth.logoutOthers",

	"GET users": "users.list",
	"GET users/profile": "users.profile",
	"PUT users/profile": "users.updateProfile",
	"GET users/:id": "users.get",

	"POST groups": "groups.create",
	"GET groups": "groups.list",
	"GET groups/:id": "groups.get",
	"PUT groups/:id": "groups.update",
	"POST groups/:id/members": "groups.addMembers",
	"DELETE groups/:id/members/:userId": "groups.removeMember",
	"PUT groups/:id/members/:userId": "groups.setRole",
	"PUT groups/:id/notifications": "groups.setNotifications",

	"POST messages": "messages.send",
	"GET messages/:groupId": "messages.history",
	"DELETE messages/:id": "messages.delete",
	"PATCH messages/:id": "messages.edit",
	"DELETE messages/:id/preview": "messages.removePreview",
	"GET messages/:id/history": "messages.editHistory",
	"PUT messages/:id/reactions/:emoji": "messages.addReaction",
	"DELETE messages/:id/reactions/:emoji": "messages.removeReaction",
	"GET messages/:id/receipts": "messages.receipts",
	"POST messages/:groupId/delivered": "messages.markDelivered",
	"POST messages/:groupId/seen": "messages.markSeen",
	"POST messages/:groupId/unread": "messages.markUnread",

	"GET search": "search.query",

	"GET presence": "presence.query",

	"GET push/key": "push.key",
	"POST push/subscriptions": "push.subscribe",
	"DELETE push/subscriptions/:id": "push.unsubscribe",

	"GET assets/limits": "assets.limits",
	"POST assets/uploads": "assets.createUpload",
	"GET assets/uploads/:uploadId": "assets.uploadStatus",
	"POST assets/uploads/:uploadId/complete": "assets.completeUpload",
	"GET assets/:id": "assets.get"
};

/** Routes whose body is a file stream rather than JSON. */
export const STREAM_ALIASES = {
	"POST assets/upload": "multipart:assets.upload",
	"PUT assets/uploads/:uploadId/chunks/:index": "stream:assets.putChunk"
};

/** Signed-URL downloads: the signature is the credential, so no token is needed (img src, a href). */
export const DOWNLOAD_ALIASES = {
	"GET assets/:id/:variant": "assets.download",
	// Link checkers and download managers ask first: the same headers, no body.
	"HEAD assets/:id/:variant": "assets.download"
};
