/** Web Push: what a device registers, and what its service worker receives. */

/** `GET /api/push/key`: the server's VAPID public key (base64url), the `applicationServerKey` of `pushManager.subscribe`. */
export interface PushKey {
	publicKey: string;
}

/** `POST /api/push/subscriptions`: a browser's PushSubscription as `toJSON()` gives it. */
export interface PushSubscriptionRequest {
	endpoint: string;
	keys: { p256dh: string; auth: string };
}

/** The decrypted payload of a push: one new message. */
export interface PushNotification {
	groupId: string;
	seq: number;
	messageId: string;
	/** The sender, and the conversation when it is a group ("Alice in Design"). */
	title: string;
	/** An excerpt of the message. */
	body: string;
	/** The same for every message of a conversation: the newest replaces the one before. */
	tag: string;
}
