import { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import type { Message, StoredLinkPreview } from "../../contract/messages.ts";
import { chatConfig } from "../../lib/config.ts";
import { firstLink } from "../../lib/links.ts";
import { linkToPreview, makePreview, type PreviewDeps, type PreviewTarget, type StoredImage } from "./previews.ts";
import { WorkQueue } from "./work-queue.ts";

/**
 * Link previews: from the message events (a new message, an edit that changed its first link) to the
 * page's title, description, site name and image, attached to the message by messages.attachPreview as a
 * change of its own. Never on the send path: events are handled after the send was answered, a few at a
 * time. Every instance hears every event; messages.claimPreview lets exactly one of them fetch a link.
 * The fetcher is a trust boundary (guarded-fetch.ts): it reaches only public addresses.
 * A preview's image is an asset charged to the message's author; it is removed once the message no longer
 * shows it (replaced, removed, an edit that changed the link, the message deleted): assets.releasePreviewImages.
 */

interface LinkPreviewsState {
	enabled: boolean;
	queue: WorkQueue;
	deps: PreviewDeps;
	consider(ctx: MessageEvent, event: "created" | "updated"): void;
	preview(target: PreviewTarget): Promise<void>;
	release(messageId: string, options: { keep?: string; discard?: string; deleted?: boolean; link?: string | null }): Promise<void>;
}

type MessageEvent = Context<{ groupId: string; message: Message }>;

const LinkPreviewsService: ServiceSchema<{}, {}, LinkPreviewsState> = {
	name: "link-previews",

	events: {
		"message.created"(ctx: MessageEvent) {
			this.consider(ctx, "created");
		},
		"message.updated"(ctx: MessageEvent) {
			const { message } = ctx.params;
			// Shows no preview now (an edit dropped it, its author removed it): the images it showed go. A change of a
			// message without a link that was not just edited (a reaction) cannot have dropped one.
			const link = firstLink(message.content);
			const justEdited = message.editedAt != null && Date.now() - Date.parse(message.editedAt) < 60_000;
			if (this.enabled && !message.preview && !message.system && (link || justEdited)) void this.release(message.id, { link });
			this.consider(ctx, "updated");
		},
		"message.deleted"(ctx: MessageEvent) {
			if (this.enabled) void this.release(ctx.params.message.id, { deleted: true });
		}
	},

	methods: {
		consider(ctx: MessageEvent, event: "created" | "updated") {
			if (!this.enabled) return;
			const { message } = ctx.params;
			const link = linkToPreview(message, event);
			if (!link) return;
			const queued = this.queue.push(message.id, () => this.preview({ messageId: message.id, senderId: message.senderId, link }));
			if (!queued) this.logger.debug("Link preview skipped: the queue is full", message.id);
		},

		async preview(target: PreviewTarget) {
			const { messageId, link } = target;
			try {
				const { claimed } = await this.broker.call<{ claimed: boolean }, object>("messages.claimPreview", { id: messageId, url: link });
				if (!claimed) return;
				const preview: StoredLinkPreview | null = await makePreview(link, this.deps, target);
				if (!preview) return;
				const imageId = preview.image?.id;
				let attached = false;
				try {
					({ attached } = await this.broker.call<{ attached: boolean }, object>("messages.attachPreview", { id: messageId, preview }));
				} finally {
					// Not attached (the message moved on meanwhile): its image is nobody's. Attached: the ones before it go.
					if (imageId) await this.release(messageId, attached ? { keep: imageId } : { discard: imageId });
				}
			} catch (err) {
				this.logger.warn("Link preview failed", messageId, err);
			}
		},

		async release(messageId, options) {
			try {
				await this.broker.call("assets.releasePreviewImages", { messageId, ...options });
			} catch (err) {
				this.logger.warn("Could not release a message's preview images", messageId, err);
			}
		}
	},

	created() {
		const config = chatConfig(this.broker).linkPreviews;
		this.enabled = config.enabled;
		this.queue = new WorkQueue({ concurrency: 4, maxWaiting: 200 });
		this.deps = {
			allowHosts: new Set(config.allowHosts),
			storeImage: (bytes, mimeType, name, target) =>
				this.broker.call<StoredImage, object>(
					"assets.storeFetchedImage",
					{ name, mimeType, ...(target ? { messageId: target.messageId, chargedTo: target.senderId, url: target.link } : {}) },
					{
						stream: Readable.from([bytes], { objectMode: false })
					} as never
				),
			onRefused: (link, err) => this.logger.debug("Link preview not fetched", link, err.message)
		};
	},

	async stopped() {
		await this.queue?.drained();
	}
};

export default LinkPreviewsService;
