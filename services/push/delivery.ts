import webpush from "web-push";
import type { PushNotification } from "../../contract/push.ts";
import type { VapidKeys } from "../../lib/vapid.ts";

export type DeliveryResult = "sent" | "gone" | "failed";

export interface PushTarget {
	endpoint: string;
	keys: { p256dh: string; auth: string };
}

export interface DeliveryOptions {
	vapid: VapidKeys;
	concurrency: number;
	timeoutMs: number;
	/** Beyond this many waiting pushes new ones are dropped: a slow push service must not grow memory without bound. */
	maxQueued?: number;
	/** How long a push service keeps a push for an offline device. */
	ttlSeconds?: number;
}

/**
 * Sends encrypted pushes (RFC 8291 aes128gcm, VAPID RFC 8292) with at most `concurrency` requests in flight,
 * each cut off after `timeoutMs`, redirects not followed. web-push builds the request; we send it, so the
 * limits are ours. `Topic` is the conversation: a push service holding pushes for an offline device keeps only
 * the newest of each conversation, as the device's notifications would.
 */
export class PushDelivery {
	private readonly options: Required<DeliveryOptions>;
	private inFlight = 0;
	private readonly queue: (() => void)[] = [];
	dropped = 0;

	constructor(options: DeliveryOptions) {
		this.options = { maxQueued: 10_000, ttlSeconds: 24 * 3600, ...options };
	}

	/** Resolves once the push service answered (or did not in time); "dropped" when the queue was full. */
	async send(target: PushTarget, notification: PushNotification): Promise<DeliveryResult | "dropped"> {
		if (this.inFlight >= this.options.concurrency) {
			if (this.queue.length >= this.options.maxQueued) {
				this.dropped++;
				return "dropped";
			}
			await new Promise<void>(resolve => this.queue.push(resolve));
		} else this.inFlight++;
		try {
			return await this.post(target, notification);
		} finally {
			const next = this.queue.shift();
			if (next) next();
			else this.inFlight--;
		}
	}

	private async post(target: PushTarget, notification: PushNotification): Promise<DeliveryResult> {
		const { vapid, timeoutMs, ttlSeconds } = this.options;
		const request = webpush.generateRequestDetails({ endpoint: target.endpoint, keys: target.keys }, JSON.stringify(notification), {
			vapidDetails: vapid,
			TTL: ttlSeconds,
			urgency: "high",
			topic: notification.groupId.slice(0, 32),
			contentEncoding: "aes128gcm"
		});
		try {
			const res = await fetch(request.endpoint, {
				method: request.method,
				headers: request.headers as Record<string, string>,
				body: request.body,
				redirect: "manual",
				signal: AbortSignal.timeout(timeoutMs)
			});
			await res.body?.cancel();
			if (res.status === 404 || res.status === 410) return "gone";
			return res.status >= 200 && res.status < 300 ? "sent" : "failed";
		} catch {
			return "failed";
		}
	}
}
