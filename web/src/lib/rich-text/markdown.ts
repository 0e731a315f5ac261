import DOMPurify from 'dompurify';
import { Marked, type RendererObject, type Token, type TokenizerAndRendererExtension, type Tokens } from 'marked';

/**
 * Message text as a small, safe markdown: bold, italic, strike, inline code, code blocks, quotes and
 * lists; bare URLs become links. No HTML from the text is ever markup (marked's HTML tokenizers are off,
 * so `<b>` stays text), headings, tables and images are not parsed (a chat line starting with `#` stays
 * a line), links go only to http(s) and mailto, and DOMPurify, with a short list of tags and attributes,
 * checks what comes out. `@username` is highlighted when the server resolved it to a mentioned member.
 */

export interface MentionContext {
	/** The message's mentioned member ids (resolved by the server on send and edit). */
	mentions: readonly string[];
	/** `@all` by someone allowed to use it (`@here` shows in `mentions`: the members online then). */
	mentionsAll: boolean;
	/** Members' usernames (lower case) → user ids. */
	usernames: ReadonlyMap<string, string>;
	/** The viewer: their own mention is highlighted more strongly. */
	viewerId: string | null;
}

const NO_MENTIONS: MentionContext = { mentions: [], mentionsAll: false, usernames: new Map(), viewerId: null };

const SAFE_HREF = /^(?:https?:|mailto:)/i;

const ALLOWED_TAGS = ['p', 'br', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'span'];
const ALLOWED_ATTR = ['href', 'target', 'rel', 'class', 'start', 'data-user-id', 'title'];

const escapeHtml = (text: string) =>
	text.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

interface MentionToken extends Tokens.Generic {
	type: 'mention';
	raw: string;
	name: string;
}

/** A message being rendered: its mentions, and whether its `@here` reached anyone. */
interface Rendering extends MentionContext {
	hereCounted: boolean;
}

function mentionExtension(context: () => Rendering): TokenizerAndRendererExtension {
	return {
		name: 'mention',
		level: 'inline',
		// Only an @ that starts a word: "bob@example.com" is an address, not a mention.
		start(src: string) {
			const match = /(^|[^\w@])@[\w.-]/.exec(src);
			return match ? match.index + match[1].length : undefined;
		},
		tokenizer(src: string): MentionToken | undefined {
			const match = /^@([a-z0-9_.-]{3,32}|all|here)(?![\w-])/i.exec(src);
			if (!match) return undefined;
			const name = match[1].replace(/\.+$/, '');
			return { type: 'mention', raw: '@' + name, name };
		},
		renderer(token) {
			const { name, raw } = token as MentionToken;
			const ctx = context();
			const lower = name.toLowerCase();
			if (lower === 'all' || lower === 'here') {
				if (ctx.mentionsAll) return `<span class="mention mention-all mention-me">${escapeHtml(raw)}</span>`;
				if (lower === 'all' || !ctx.hereCounted) return escapeHtml(raw);
				const me = ctx.viewerId && ctx.mentions.includes(ctx.viewerId) ? ' mention-me' : '';
				return `<span class="mention mention-all${me}">${escapeHtml(raw)}</span>`;
			}
			const userId = mentionedId(ctx, lower);
			if (!userId) return escapeHtml(raw);
			const me = userId === ctx.viewerId ? ' mention-me' : '';
			return `<span class="mention${me}" data-user-id="${escapeHtml(userId)}">${escapeHtml(raw)}</span>`;
		}
	};
}

/** The member `@name` (lower case) mentions, if the server resolved it to one. */
function mentionedId(ctx: MentionContext, name: string): string | undefined {
	const userId = ctx.usernames.get(name);
	return userId && ctx.mentions.includes(userId) ? userId : undefined;
}

/**
 * Whether the server counted the text's `@here`: someone is mentioned whom the text does not name (the
 * members it reached). From a member not allowed to use it, it adds nobody and stays text.
 */
function hereCounted(tokens: Token[], ctx: MentionContext): boolean {
	if (!ctx.mentions.length) return false;
	const named = new Set<string | undefined>();
	let here = false;
	markdown.walkTokens(tokens, token => {
		if (token.type !== 'mention') return;
		const name = (token as MentionToken).name.toLowerCase();
		if (name === 'here') here = true;
		else named.add(mentionedId(ctx, name));
	});
	return here && ctx.mentions.some(id => !named.has(id));
}

const renderer: RendererObject = {
	html({ text }) {
		return escapeHtml(text);
	},
	link({ href, tokens }) {
		const text = this.parser.parseInline(tokens);
		if (!SAFE_HREF.test(href)) return text;
		return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
	},
	image({ href, text }) {
		const label = escapeHtml(text || href);
		return SAFE_HREF.test(href)
			? `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${label}</a>`
			: label;
	}
};

const NOTHING_RENDERING: Rendering = { ...NO_MENTIONS, hereCounted: false };
let current: Rendering = NOTHING_RENDERING;

const off = () => undefined;
const markdown = new Marked({
	gfm: true,
	breaks: true,
	async: false,
	tokenizer: { html: off, tag: off, heading: off, lheading: off, table: off, def: off, hr: off },
	renderer,
	extensions: [mentionExtension(() => current)]
});

let hooked = false;

/** Every link opens in a new tab without handing the page to it. */
function hookLinks() {
	if (hooked) return;
	hooked = true;
	DOMPurify.addHook('afterSanitizeAttributes', node => {
		if (node.tagName === 'A') {
			node.setAttribute('target', '_blank');
			node.setAttribute('rel', 'noopener noreferrer');
		}
	});
}

/** Sanitized HTML for a message's text. */
export function renderMessageText(content: string, context: MentionContext = NO_MENTIONS): string {
	let html: string;
	try {
		const tokens = markdown.lexer(content);
		current = { ...context, hereCounted: hereCounted(tokens, context) };
		html = markdown.parser(tokens);
	} finally {
		current = NOTHING_RENDERING;
	}
	hookLinks();
	return DOMPurify.sanitize(html, { ALLOWED_TAGS, ALLOWED_ATTR, ALLOWED_URI_REGEXP: SAFE_HREF, KEEP_CONTENT: true });
}

const BLOCKS = new Set(['paragraph', 'blockquote', 'list_item', 'code', 'space', 'hr', 'heading']);

/** A message's words without the markdown around them, on one line: reply quotes, list previews, notifications. */
export function plainText(content: string): string {
	let text = '';
	const walk = (tokens: Token[]) => {
		for (const token of tokens) {
			if (token.type === 'list') walk((token as Tokens.List).items);
			else if ('tokens' in token && token.tokens?.length) walk(token.tokens);
			else text += 'text' in token && typeof token.text === 'string' ? token.text : token.raw;
			if (BLOCKS.has(token.type)) text += ' ';
		}
	};
	walk(markdown.lexer(content));
	return text.replace(/\s+/g, ' ').trim();
}

/** `username` → id for the mention highlighting of a conversation's members. */
export function usernameIndex(
	members: Iterable<{ id: string; username: string } | null | undefined>
): Map<string, string> {
	const index = new Map<string, string>();
	for (const member of members) if (member) index.set(member.username.toLowerCase(), member.id);
	return index;
}
