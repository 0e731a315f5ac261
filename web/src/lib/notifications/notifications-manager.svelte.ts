import { goto } from '$app/navigation';
import type { Group, Message, PushSubscriptionRequest } from '@scalable-chat/contract';
import { pushApi } from '#lib/api/client.ts';
import { realtime } from '#lib/realtime/realtime.svelte.ts';
import { browserStorage } from '#lib/storage/browser-storage.ts';
import { conversations } from '#lib/stores/conversations-manager.svelte.ts';
import { session } from '#lib/stores/session-manager.svelte.ts';
import { users } from '#lib/stores/users-manager.svelte.ts';
import { playChime } from './chime.ts';
import { excerptOf, isMuted, tagOf, wantsNotification } from './policy.ts';

/** What this device was asked to do (localStorage): notifications are a per-device choice, levels are per account. */
interface DevicePreferences {
	browser: boolean;
	sound: boolean;
	/** This browser's Web Push subscription on the server, and whose it is. */
	push: { id: string; userId: string } | null;
}

const STORAGE_KEY = 'chat.notifications';
const SERVICE_WORKER = '/service-worker.js';

export type PushState = 'unsupported' | 'off' | 'on' | 'working';

/** The message a notification click sends from the service worker to an open window. */
export interface OpenConversationMessage {
	type: 'open-conversation';
	groupId: string;
}

function readPreferences(): DevicePreferences {
	try {
		const raw = browserStorage()?.getItem(STORAGE_KEY);
		if (raw) return { browser: false, sound: false, push: null, ...(JSON.parse(raw) as Partial<DevicePreferences>) };
	} catch {
		// A damaged entry is as good as none.
	}
	return { browser: false, sound: false, push: null };
}

const notificationsSupported = () => typeof window !== 'undefined' && 'Notification' in window;
const pushSupported = () =>
	typeof navigator !== 'undefined' &&
	'serviceWorker' in navigator &&
	typeof window !== 'undefined' &&
	'PushManager' in window;

/**
 * Notifications on this device: browser notifications from the live socket while the app is open (hidden,
 * or showing another conversation), an optional sound, and Web Push (the service worker) for when it is
 * closed. Permission is asked only when the user turns one on in the settings.
 */
class NotificationsManager {
	permission = $state<NotificationPermission | 'unsupported'>(
		notificationsSupported() ? Notification.permission : 'unsupported'
	);
	browser = $state(false);
	sound = $state(false);
	push = $state<PushState>(pushSupported() ? 'off' : 'unsupported');
	/** Why the last change could not be made, in plain language. */
	problem = $state<string | null>(null);

	#preferences: DevicePreferences = readPreferences();
	/** The sign-in (`session.epoch`) this browser's subscription was last registered under. */
	#renewedEpoch = -1;

	constructor() {
		this.browser = this.#preferences.browser;
		this.sound = this.#preferences.sound;
	}

	/** Asks the browser's permission (from a click in the settings) and turns browser notifications on. */
	async enableBrowser(): Promise<void> {
		this.problem = null;
		if (!(await this.#permit())) return;
		this.browser = true;
		this.#save();
	}

	disableBrowser(): void {
		this.browser = false;
		this.#save();
	}

	setSound(on: boolean): void {
		this.sound = on;
		this.#save();
		// A click: the browser lets the page make a sound now, and the user hears what they chose.
		if (on) playChime();
	}

	/** Subscribes this browser through the service worker and registers it with the server. */
	async enablePush(): Promise<void> {
		this.problem = null;
		if (this.push === 'unsupported' || !(await this.#permit())) return;
		this.push = 'working';
		try {
			const { publicKey } = await pushApi.key();
			const registration = await this.#registration();
			const existing = await registration.pushManager.getSubscription();
			// A subscription made with another server key cannot receive our pushes.
			if (existing && !sameKey(existing.options.applicationServerKey, publicKey)) await existing.unsubscribe();
			const subscription =
				(await registration.pushManager.getSubscription()) ??
				(await registration.pushManager.subscribe({
					userVisibleOnly: true,
					applicationServerKey: fromBase64Url(publicKey)
				}));
			const { id } = await pushApi.subscribe(registrationOf(subscription));
			this.#preferences.push = { id, userId: session.userId };
			this.#renewedEpoch = session.epoch;
			this.push = 'on';
		} catch (error) {
			this.push = 'off';
			this.problem =
				(error as { status?: number }).status === 404
					? 'This server does not send push notifications.'
					: "Couldn't turn on push notifications for this device. Try again later.";
		}
		this.#save();
	}

	async disablePush(): Promise<void> {
		this.problem = null;
		this.push = 'working';
		const known = this.#preferences.push;
		this.#preferences.push = null;
		this.#save();
		if (known) await pushApi.unsubscribe(known.id).catch(() => undefined);
		await this.#unsubscribeBrowser();
		this.push = 'off';
	}

	/** Live for the session: notifications from the socket, settings from my other devices, clicks from the service worker. */
	attach(): () => void {
		const known = this.#preferences.push;
		if (known && known.userId !== session.userId) {
			// Another account subscribed this browser: its pushes are not for this user.
			this.#preferences.push = null;
			this.#save();
			void this.#unsubscribeBrowser();
		}
		this.push = !pushSupported() ? 'unsupported' : this.#preferences.push ? 'on' : 'off';
		this.permission = notificationsSupported() ? Notification.permission : 'unsupported';
		void this.#renew();
		const onWorkerMessage = (event: MessageEvent<OpenConversationMessage>) => {
			if (event.data?.type === 'open-conversation') void openConversation(event.data.groupId);
		};
		if (pushSupported()) navigator.serviceWorker.addEventListener('message', onWorkerMessage);
		const offs = [
			realtime.on('chat.message.incoming', message => this.#notify(message)),
			realtime.on('group.notifications', ({ groupId, notifications }) =>
				conversations.applyNotifications(groupId, notifications)
			),
			// A new sign-in of this tab (a password change, signing the others out): not a mere refresh.
			session.onAccessToken(() => {
				if (session.epoch !== this.#renewedEpoch) void this.#renew();
			}),
			// Signed out: this browser stops receiving the account's pushes (the push service then answers 410 and
			// the server drops the subscription; the access token is already gone, so no DELETE can be sent).
			session.onEnd(() => {
				if (!this.#preferences.push) return;
				this.#preferences.push = null;
				this.#save();
				void this.#unsubscribeBrowser();
			})
		];
		const stopExpiry = $effect.root(() => {
			$effect(() => expireMutes(conversations.groups));
		});
		return () => {
			if (pushSupported()) navigator.serviceWorker.removeEventListener('message', onWorkerMessage);
			for (const off of offs) off();
			stopExpiry();
		};
	}

	/**
	 * The server ends a subscription with the sign-in that registered it (a logout, a password change, signing
	 * out elsewhere, an operator's kick), so each sign-in of this tab registers this browser's subscription
	 * again: when the app starts signed in, and when a password change or "sign out of all other devices" gives
	 * this tab a new session. Registering the same endpoint again is idempotent (200, the same id).
	 */
	async #renew(): Promise<void> {
		const known = this.#preferences.push;
		const epoch = (this.#renewedEpoch = session.epoch);
		if (!known || known.userId !== session.userId || !pushSupported()) return;
		try {
			const registration = await navigator.serviceWorker.getRegistration();
			const subscription = await registration?.pushManager.getSubscription();
			if (session.epoch !== epoch || this.#preferences.push !== known) return;
			if (!subscription) {
				// The browser dropped it (permission withdrawn, site data cleared): push is off on this device.
				this.#preferences.push = null;
				this.push = 'off';
				this.#save();
				return;
			}
			const { id } = await pushApi.subscribe(registrationOf(subscription));
			if (session.epoch !== epoch || this.#preferences.push !== known || id === known.id) return;
			// The server had ended the old one: this is a new subscription of the same browser.
			this.#preferences.push = { id, userId: known.userId };
			this.#save();
		} catch {
			// Unreachable, or push turned off on the server: the next sign-in or start tries again.
		}
	}

	#notify(message: Message): void {
		if (!this.browser || !notificationsSupported() || Notification.permission !== 'granted') return;
		// On screen already: the conversation is open in a visible, focused window.
		if (conversations.isVisible(message.groupId)) return;
		const group = conversations.byId(message.groupId);
		if (!group || !wantsNotification(group.notifications, message, session.userId)) return;
		const sender = users.displayName(message.senderId);
		const title = group.type === 'group' ? `${sender} in ${conversations.title(group)}` : sender;
		const notification = new Notification(title, {
			body: excerptOf(message),
			tag: tagOf(message.groupId),
			data: { groupId: message.groupId }
		});
		notification.onclick = () => {
			notification.close();
			void openConversation(message.groupId);
		};
		if (this.sound) playChime();
	}

	async #permit(): Promise<boolean> {
		if (!notificationsSupported()) {
			this.problem = "This browser can't show notifications.";
			return false;
		}
		this.permission =
			Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
		if (this.permission === 'granted') return true;
		this.problem =
			'Notifications are blocked for this site. Allow them in your browser’s site settings, then try again.';
		return false;
	}

	async #registration(): Promise<ServiceWorkerRegistration> {
		await navigator.serviceWorker.register(SERVICE_WORKER, { type: import.meta.env.DEV ? 'module' : 'classic' });
		return navigator.serviceWorker.ready;
	}

	async #unsubscribeBrowser(): Promise<void> {
		if (!pushSupported()) return;
		const registration = await navigator.serviceWorker.getRegistration();
		await (await registration?.pushManager.getSubscription())?.unsubscribe().catch(() => undefined);
	}

	#save(): void {
		this.#preferences.browser = this.browser;
		this.#preferences.sound = this.sound;
		browserStorage()?.setItem(STORAGE_KEY, JSON.stringify(this.#preferences));
	}
}

/** Longest wait setTimeout takes (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** When the next mute ends, the conversation stops being muted on screen (undimmed, back in the title badge). */
function expireMutes(groups: Group[]): (() => void) | undefined {
	const now = Date.now();
	const ends = groups.map(g => (isMuted(g.notifications, now) ? Date.parse(g.notifications.mutedUntil!) : Infinity));
	const next = Math.min(...ends);
	if (next === Infinity) return;
	const timer = setTimeout(
		() => {
			for (const group of groups)
				if (group.notifications.mutedUntil && !isMuted(group.notifications))
					conversations.applyNotifications(group.id, { ...group.notifications, mutedUntil: null });
		},
		Math.min(next - now, MAX_TIMER_MS)
	);
	return () => clearTimeout(timer);
}

async function openConversation(groupId: string): Promise<void> {
	window.focus();
	await goto(`/c/${encodeURIComponent(groupId)}`);
}

/** What the server registers of a browser's subscription. */
function registrationOf(subscription: PushSubscription): PushSubscriptionRequest {
	const json = subscription.toJSON();
	return { endpoint: subscription.endpoint, keys: { p256dh: json.keys?.p256dh ?? '', auth: json.keys?.auth ?? '' } };
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
	const base64 = text
		.replace(/-/g, '+')
		.replace(/_/g, '/')
		.padEnd(Math.ceil(text.length / 4) * 4, '=');
	return Uint8Array.from(atob(base64), c => c.charCodeAt(0));
}

function sameKey(key: ArrayBuffer | null, publicKey: string): boolean {
	if (!key) return false;
	const a = new Uint8Array(key);
	const b = fromBase64Url(publicKey);
	return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export const notifications = new NotificationsManager();
