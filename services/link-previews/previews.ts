import type { EventMessage, StoredLinkPreview } from "../../contract/messages.ts";
import { firstLink } from "../../lib/links.ts";
import { decodeHtml, extractPageFacts } from "./extract.ts";
import { guardedFetch, type FetchRefused, type FetchRules } from "./guarded-fetch.ts";

/** From a message event to a stored preview: which link, the page's facts, and its image kept as our own asset. */

export const PAGE_TYPES: ReadonlySet<string> = new Set(["text/html", "application/xhtml+xml"]);
export const IMAGE_TYPES: ReadonlySet<string> = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);

/** A page longer than maxBytes is read that far: its head, with the tags a preview needs, comes first. */
export const PAGE_LIMITS = { maxRedirects: 3, timeoutMs: 5000, maxBytes: 512 * 1024, truncate: true } as const;
export const IMAGE_LIMITS = { maxRedirects: 3, timeoutMs: 5000, maxBytes: 2 * 1024 * 1024 } as const;

/** An edit reaches the fetcher within moments; an older edited message changing (a reaction) is no reason to fetch. */
const EDIT_FRESH_MS = 60_000;

/**
 * The link a message event asks a preview for, or null: a new message with a link, or an edited one whose
 * first link is not the one previewed. Whether it was already tried is the claim's business (messages.claimPreview).
 */
export function linkToPreview(
	message: Pick<EventMessage, "content" | "deletedAt" | "editedAt" | "system"> & { preview: { url: string } | null },
	event: "created" | "updated",
	now = Date.now()
): string | null {
	if (message.system || message.deletedAt) return null;
	const link = firstLink(message.content);
	if (!link || message.preview?.url === link) return null;
	if (event === "updated" && (!message.editedAt || now - Date.parse(message.editedAt) > EDIT_FRESH_MS)) return null;
	return link;
}

export interface StoredImage {
	id: string;
	width: number | null;
	height: number | null;
	hasThumbnail: boolean;
}

/** The message a preview is made for (its image is recorded with it, and charged to its author). */
export interface PreviewTarget {
	messageId: string;
	senderId: string;
	link: string;
}

export interface PreviewDeps {
	/** `host:port` pairs the guard lets through (LINK_PREVIEW_ALLOW_HOSTS). */
	allowHosts: ReadonlySet<string>;
	/**
	 * Keeps fetched image bytes through the asset pipeline (which checks they are an image, and charges them to
	 * `forMessage.senderId`'s quota); throws when they are not, or do not fit.
	 */
	storeImage(bytes: Buffer, mimeType: string, name: string, forMessage?: PreviewTarget): Promise<StoredImage>;
	onRefused?(link: string, err: FetchRefused | Error): void;
	resolve?: FetchRules["resolve"];
}

const USER_AGENT = "Mozilla/5.0 (compatible; ScalableChatLinkPreview/1.0)";

function rules(deps: PreviewDeps, limits: typeof PAGE_LIMITS | typeof IMAGE_LIMITS, accept: ReadonlySet<string>): FetchRules {
	return { ...limits, accept, allowHosts: deps.allowHosts, userAgent: USER_AGENT, resolve: deps.resolve };
}

async function previewImage(src: string, deps: PreviewDeps, target?: PreviewTarget): Promise<StoredImage | null> {
	try {
		const image = await guardedFetch(src, rules(deps, IMAGE_LIMITS, IMAGE_TYPES));
		const name = new URL(image.url).pathname.split("/").pop() || "preview";
		return await deps.storeImage(image.body, image.mimeType, name.slice(0, 200), target);
	} catch (err) {
		deps.onRefused?.(src, err as Error);
		return null;
	}
}

/** The preview of `link`, or null when the page cannot be fetched or says nothing worth showing. */
export async function makePreview(link: string, deps: PreviewDeps, target?: PreviewTarget): Promise<StoredLinkPreview | null> {
	let page;
	try {
		page = await guardedFetch(link, rules(deps, PAGE_LIMITS, PAGE_TYPES));
	} catch (err) {
		deps.onRefused?.(link, err as Error);
		return null;
	}
	const facts = extractPageFacts(decodeHtml(page.body, page.charset), page.url);
	if (!facts.title && !facts.description) return null;
	const image = facts.image ? await previewImage(facts.image, deps, target) : null;
	return { url: link, title: facts.title, description: facts.description, siteName: facts.siteName ?? new URL(page.url).hostname, image };
}
