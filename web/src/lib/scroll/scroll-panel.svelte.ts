import { tick } from 'svelte';
import type { Attachment } from 'svelte/attachments';
import {
	adjustmentFor,
	anchoredScrollTop,
	contentChange,
	isAtBottom,
	startScrollTop,
	type ContentEdges
} from './scroll-position.ts';

/** Within this many pixels of the end counts as "at the bottom". */
const BOTTOM_SLACK = 48;
/** Ask for older content while the reader is this close to the top. */
const FILL_THRESHOLD = 300;

export interface ScrollPanelOptions {
	/** The reader is near the top: load older content. Called on every scroll event there. */
	onFillRequest: () => void;
	/** Where the first render starts: at this element when the bottom view would not show it, else the bottom. */
	startAt?: (container: HTMLElement) => HTMLElement | null;
}

/** The content about to render, as the panel sees it: its edges by row key. */
export interface ContentUpdate extends ContentEdges {
	contains(key: string): boolean;
	/** Follow what was appended even from up in history (e.g. the reader's own message). */
	stickOnAppend: boolean;
	/** Whether there is content to position yet; asked once the DOM holds it. */
	ready(): boolean;
}

/**
 * Generic scrolling for a list that grows at both ends, like Element's ScrollPanel: it sticks to the bottom
 * only when the reader is there, keeps the reader's anchor when history is prepended, asks for more near the
 * top, and counts what arrived below while the reader was away. What the rows are is the caller's business.
 */
export class ScrollPanel {
	atBottom = $state(true);
	/** Appended while the reader was up in history (the "new messages" button). */
	unseenBelow = $state(0);

	#container = $state<HTMLElement | null>(null);
	#edges: ContentEdges = { firstKey: undefined, lastKey: undefined };
	#started = false;
	#options: ScrollPanelOptions;

	constructor(options: ScrollPanelOptions) {
		this.#options = options;
	}

	/** `{@attach panel.attach}` on the scrolling element. */
	attach: Attachment<HTMLElement> = container => {
		this.#container = container;
		const onscroll = () => this.#onScroll(container);
		container.addEventListener('scroll', onscroll);
		return () => {
			container.removeEventListener('scroll', onscroll);
			this.#container = null;
		};
	};

	/**
	 * Call from `$effect.pre` with the content about to render: measures before the DOM changes, adjusts
	 * after. It reads the attached element, so the effect runs once more when the element is attached.
	 */
	update(content: ContentUpdate): void {
		const container = this.#container;
		if (!container) return;
		const wasAtBottom = isAtBottom(container, BOTTOM_SLACK);
		const before = { scrollTop: container.scrollTop, scrollHeight: container.scrollHeight };
		const change = contentChange(this.#edges, content, key => content.contains(key));
		this.#edges = { firstKey: content.firstKey, lastKey: content.lastKey };

		void tick().then(() => {
			if (!content.ready()) return;
			if (!this.#started) {
				this.#started = true;
				this.#start(container);
				return;
			}
			switch (adjustmentFor(change, { wasAtBottom, stickOnAppend: content.stickOnAppend })) {
				case 'keep-anchor':
					container.scrollTop = anchoredScrollTop(before, container.scrollHeight);
					break;
				case 'to-bottom':
					this.scrollToBottom(true);
					break;
				case 'stay-at-bottom':
					this.scrollToBottom();
					break;
				case 'count-unseen':
					this.unseenBelow++;
					break;
			}
		});
	}

	scrollToBottom(smooth = false): void {
		this.#container?.scrollTo({ top: this.#container.scrollHeight, behavior: smooth ? 'smooth' : 'auto' });
		this.unseenBelow = 0;
		this.atBottom = true;
	}

	#start(container: HTMLElement): void {
		const target = this.#options.startAt?.(container);
		const targetTop = target
			? target.getBoundingClientRect().top - container.getBoundingClientRect().top + container.scrollTop
			: null;
		container.scrollTop = startScrollTop(container, targetTop);
		this.atBottom = isAtBottom(container, BOTTOM_SLACK);
	}

	#onScroll(container: HTMLElement): void {
		this.atBottom = isAtBottom(container, BOTTOM_SLACK);
		if (this.atBottom) this.unseenBelow = 0;
		if (container.scrollTop < FILL_THRESHOLD) this.#options.onFillRequest();
	}
}
