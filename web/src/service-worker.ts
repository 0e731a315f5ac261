/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
import type { PushNotification } from '@scalable-chat/contract';

/**
 * Web Push for when the app is closed: shows the pushed message (one notification per conversation, the
 * newest replacing the one before) and, on a click, focuses an open window on that conversation or opens one.
 * It caches nothing: the app's offline copy lives in localStorage (lib/offline/).
 */
const worker = self as unknown as ServiceWorkerGlobalScope;

worker.addEventListener('install', () => void worker.skipWaiting());
worker.addEventListener('activate', event => event.waitUntil(worker.clients.claim()));

worker.addEventListener('push', event => {
	let pushed: PushNotification | null = null;
	try {
		pushed = event.data?.json() as PushNotification;
	} catch {
		// Not ours: browsers still want a notification for a push.
	}
	const title = pushed?.title ?? 'New message';
	event.waitUntil(
		worker.registration.showNotification(title, {
			body: pushed?.body ?? '',
			tag: pushed?.tag,
			data: { groupId: pushed?.groupId ?? null }
		})
	);
});

worker.addEventListener('notificationclick', event => {
	event.notification.close();
	const groupId = (event.notification.data as { groupId: string | null } | null)?.groupId ?? null;
	event.waitUntil(openConversation(groupId));
});

async function openConversation(groupId: string | null): Promise<void> {
	const path = groupId ? `/c/${encodeURIComponent(groupId)}` : '/';
	const windows = await worker.clients.matchAll({ type: 'window', includeUncontrolled: true });
	const open = windows.find(w => new URL(w.url).origin === worker.location.origin);
	if (!open) {
		await worker.clients.openWindow(path);
		return;
	}
	await open.focus();
	// The app navigates itself (client-side), keeping its state and connection.
	if (groupId) open.postMessage({ type: 'open-conversation', groupId });
}
