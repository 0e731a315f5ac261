import { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import type { Message, StoredLinkPreview } from "../../contract/messages.ts";
import { chatConfig } from "../../lib/config.ts";
import { linkToPreview, makePreview, type PreviewDeps, type StoredImage } from "./previews.ts";
import { WorkQueue } from "./work-queue.ts";

/**
 * Link previews: from the message events (a new message, an edit that changed its first link) to the
 * page's title, description, site name and image, attached to the message by messages.attachPreview as a
 * change of its own. Never on the send path: events are handled after the send was answered, a few at a
 * time. Every instance hears every event; messages.claimPreview lets exactly one of them fetch a link.
 * The fetcher is a trust boundary (guarded-fetch.ts): it reaches only public addresses.
 */

interface LinkPreviewsState {
	enabled: boolean;
	queue: WorkQueue;
	deps: PreviewDeps;
	consider(ctx: MessageEvent, event: "created" | "updated"): void;
	preview(messageId: string, link: string): Promise<void>;
}

type MessageEvent = Context<{ groupId: string; message: Message }>;

const LinkPreviewsService: ServiceSchema<{}, {}, LinkPreviewsState> = {
	name: "link-previews",

	events: {
		"message.created"(ctx: MessageEvent) {
			this.consider(ctx, "created");
		},
		"message.updated"(ctx: MessageEvent) {
			this.consider(ctx, "updated");
		}
	},

	methods: {
		consider(ctx: MessageEvent, event: "created" | "updated") {
			if (!this.enabled) return;
			const { message } = ctx.params;
			const link = linkToPreview(message, event);
			if (!link) return;
			const queued = this.queue.push(message.id, () => this.preview(message.id, link));
			if (!queued) this.logger.debug("Link preview skipped: the queue is full", message.id);
		},

		async preview(messageId: string, link: string) {
			try {
				const { claimed } = await this.broker.call<{ claimed: boolean }, object>("messages.claimPreview", { id: messageId, url: link });
				if (!claimed) return;
				const preview: StoredLinkPreview | null = await makePreview(link, this.deps);
				if (preview) await this.broker.call("messages.attachPreview", { id: messageId, preview });
			} catch (err) {
				this.logger.warn("Link preview failed", messageId, err);
			}
		}
	},

	created() {
		const config = chatConfig(this.broker).linkPreviews;
		this.enabled = config.enabled;
		this.queue = new WorkQueue({ concurrency: 4, maxWaiting: 200 });
		this.deps = {
			allowHosts: new Set(config.allowHosts),
			storeImage: (bytes, mimeType, name) =>
				this.broker.call<StoredImage, object>("assets.storeFetchedImage", { name, mimeType }, {
					stream: Readable.from([bytes], { objectMode: false })
				} as never),
			onRefused: (link, err) => this.logger.debug("Link preview not fetched", link, err.message)
		};
	},

	async stopped() {
		await this.queue?.drained();
	}
};

export default LinkPreviewsService;
